"""Owner assignments are dated: a station site that changes owner mid-month pays each session's
remainder to the owner of that day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from clearing.entities import assign_owner, create_entity
from hub.db.base import transaction
from hub.db.models_clearing_ref import LegalEntityRow
from tests.clearing.test_house_support import add_cdr, db, ledger_lines, network, run

__all__ = ["db"]


async def test_owner_of_the_session_day_gets_the_remainder(db) -> None:
    """Site FI-LOC belongs to FI-OLD from 2026-01-01 and to FI-NEW from 2026-11-15. Two direct
    sessions of 8.00 EUR excl. VAT (Finnish VAT 25.5 % = 2.04, paid 10.04; no split rules:
    VAT to TAX, the remaining 8.00 to the owner): 5 November -> FI-OLD 8.00, 20 November ->
    FI-NEW 8.00."""
    net = await network(db)
    async with transaction(db) as s:
        for code in ("FI-OLD", "FI-NEW"):
            await create_entity(s, code, {"name": code, "country": "FI"})
        await assign_owner(s, "LOCATION", "FI-LOC", "FI-OLD", date(2026, 1, 1))
        await assign_owner(s, "LOCATION", "FI-LOC", "FI-NEW", date(2026, 11, 15))
    pks = [await add_cdr(db, f"OWN-{day}", cpo=net.parties["LV*BIM/CPO"],
                         emsp=net.parties["LV*BIM/EMSP"],
                         end=datetime(2026, 11, day, 12, tzinfo=UTC), kwh="20",
                         excl="8.00", country="FIN", location_id="FI-LOC")
           for day in (5, 20)]
    await run(db, "2026-11")
    async with db() as s:
        codes = dict((await s.execute(select(LegalEntityRow.id, LegalEntityRow.code))).all())
    owners = [[(codes[ent], credit) for _, ent, _, credit, role in await ledger_lines(db, pk)
               if role == "OWNER"] for pk in pks]
    assert owners == [[("FI-OLD", Decimal("8.00"))], [("FI-NEW", Decimal("8.00"))]]
