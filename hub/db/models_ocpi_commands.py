"""ORM models: OCPI commands and charging profiles (issue 5, migration 0010).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` money, ``UTCDateTime`` time.
"""

from __future__ import annotations

from hub.db.base import Base

__all__ = ["Base"]
