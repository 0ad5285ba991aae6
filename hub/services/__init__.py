"""Services: the rules. They take an ``AsyncSession`` and never commit (the caller's unit of
work does, see ``hub.db.base.transaction``)."""
