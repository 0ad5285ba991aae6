"""ORM models of the clearing house (issue 6, migration 0013).

Kept beside ``hub.db.models`` (which imports this module so every table is registered);
same conventions: integer surrogate keys, ``ExactDecimal`` money, ``UTCDateTime`` time.
"""

from __future__ import annotations

from hub.db.base import Base

__all__ = ["Base"]
