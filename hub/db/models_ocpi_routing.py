"""ORM models: OCPI hub routing between third parties (issue 5, migration 0011).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` money, ``UTCDateTime`` time.
"""

from __future__ import annotations

from hub.db.base import Base

__all__ = ["Base"]
