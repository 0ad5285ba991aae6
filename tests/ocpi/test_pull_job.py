"""The scheduled/admin pull of partner CPOs' locations: stored, data-quality checked, failures
reported per partner without stopping the others."""

from __future__ import annotations

from typing import Any

from ocpi.pagination import pull_all_partners
from tests.ocpi.conftest import fake_partner
from tests.ocpi.journal_helpers import admin
from tests.ocpi.test_pagination_client import TOTAL, Sender, sender  # noqa: F401


async def test_pull_by_admin_and_job_with_quality_findings(lv_hub: Any, sender: Sender  # noqa: F811
                                                           ) -> None:
    good, _ = await fake_partner(lv_hub, [("BE", "BEC", "CPO")], [
        {"identifier": "locations", "role": "SENDER", "url": sender.url}])
    down, _ = await fake_partner(lv_hub, [("NL", "DWN", "CPO")], [
        {"identifier": "locations", "role": "SENDER",
         "url": "http://127.0.0.1:9/ocpi/cpo/2.2.1/locations"}])
    no_sender, _ = await fake_partner(lv_hub, [("DE", "NOS", "CPO")], [])

    r = await admin(lv_hub, "POST", f"/ocpi/partners/{good}/pull-locations")
    assert r.status_code == 200 and r.json() == {"partner_id": good, "stored": TOTAL}
    r = await admin(lv_hub, "POST", f"/ocpi/partners/{no_sender}/pull-locations")
    assert r.status_code == 409 and "no locations Sender" in r.json()["detail"]
    r = await admin(lv_hub, "POST", f"/ocpi/partners/{down}/pull-locations")
    assert r.status_code == 502

    results = await pull_all_partners(lv_hub.ctx)
    assert results[good] == TOTAL
    assert isinstance(results[down], str) and no_sender not in results
    # The spec's example location is clean: pulling checked each one and found nothing.
    findings = (await admin(lv_hub, "GET", "/ocpi/quality")).json()
    assert findings["findings"] == []
