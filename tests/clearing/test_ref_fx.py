"""ECB reference rates (clearing.fx): the four ECB file formats, the rate of a day, conversion
through the euro, and the daily import from a URL (a real HTTP server on loopback) or a file.

The files in tests/clearing/data/ follow the ECB's formats exactly (eurofxref.csv with its
"26 November 2026, " dates and trailing ", ", eurofxref-hist.csv with N/A cells and a trailing
comma, the gesmes XML envelopes); the rates in them are illustrative, not the ECB's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from clearing.fx import (
    FxRate,
    MissingFxRate,
    convert,
    ecb_import_job,
    import_ecb,
    import_ecb_from_source,
    list_rates,
    parse_ecb,
    rate_for,
    rates_for,
    schedule_ecb_import,
    store_rate,
)
from hub.context import HubContext
from hub.db.base import transaction
from hub.domain import InvalidInput

D = Decimal
DATA = Path(__file__).parent / "data"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_the_four_ecb_formats_parse_to_the_same_rates() -> None:
    """Daily CSV/XML hold one day (29 currencies); the history files five days of 2026 (the
    hist CSV also a 2005 row with EEK and LVL, and N/A for currencies not yet quoted)."""
    daily_csv, daily_xml = parse_ecb(read("eurofxref.csv")), parse_ecb(read("eurofxref-daily.xml"))
    assert daily_csv == daily_xml and len(daily_csv) == 29
    assert (date(2026, 11, 26), "SEK", D("10.9435")) in daily_csv
    assert parse_ecb(read("eurofxref.zip")) == daily_csv
    hist_csv, hist_xml = parse_ecb(read("eurofxref-hist.csv")), parse_ecb(
        read("eurofxref-hist.xml"))
    assert [r for r in hist_csv if r[0].year == 2026] == hist_xml
    assert (date(2005, 1, 3), "LVL", D("0.6953")) in hist_csv
    assert not [r for r in hist_csv if r[0].year == 2005 and r[1] == "RON"]  # N/A skipped


async def test_import_is_idempotent_and_rate_for_finds_the_latest_rate(
        hub_ctx: HubContext) -> None:
    """The hist CSV has SEK, NOK, DKK, PLN on 5 days (2026) and 1 day (2005): 24 rows. Again:
    0 rows. The daily XML holds 2026-11-26, already stored: 0 rows. A Saturday (2026-11-28)
    uses Thursday's rate (Friday is not in the sample); 7 days later it is still usable, 8
    days later it is too old."""
    async with transaction(hub_ctx.sessionmaker) as s:
        assert await import_ecb(s, read("eurofxref-hist.csv")) == 24
    async with transaction(hub_ctx.sessionmaker) as s:
        assert await import_ecb(s, read("eurofxref-hist.csv")) == 0
        assert await import_ecb(s, read("eurofxref-daily.xml")) == 0
        assert await import_ecb(s, read("eurofxref-hist.xml")) == 0
        sat = await rate_for(s, "sek", date(2026, 11, 28))
        assert sat == FxRate("EUR", "SEK", D("10.9435"), date(2026, 11, 26), "ECB")
        assert (await rate_for(s, "NOK", date(2026, 11, 24))).rate == D("11.779")
        assert (await rate_for(s, "PLN", date(2026, 12, 3))).rate_date == date(2026, 11, 26)
        with pytest.raises(MissingFxRate, match="older than 7 days"):
            await rate_for(s, "PLN", date(2026, 12, 4))
        with pytest.raises(MissingFxRate, match="no SEK rate at or before 2004-12-31"):
            await rate_for(s, "SEK", date(2004, 12, 31))
        with pytest.raises(MissingFxRate):
            await rate_for(s, "GBP", date(2026, 11, 26))  # not a settlement currency
        assert (await rate_for(s, "EUR", date(2030, 1, 1))).rate == D(1)
        rates = await rates_for(s, ["SEK", "NOK", "EUR"], date(2026, 11, 27))
        assert convert(D("1000.00"), "SEK", "NOK", rates) == (D("1073.88"), D("1.073879"))
        listed = await list_rates(s, currency="DKK", since=date(2026, 1, 1))
        assert [r.rate_date for r in listed] == [date(2026, 11, d) for d in (26, 25, 24, 23, 20)]


async def test_corrections_and_manual_rates(hub_ctx: HubContext) -> None:
    """A manual SEK rate for 2026-11-26 is replaced by the ECB's on import; a corrected ECB
    file (SEK 10.9500) updates that one row and nothing else."""
    async with transaction(hub_ctx.sessionmaker) as s:
        assert await store_rate(s, "SEK", date(2026, 11, 26), D("11"), "manual")
        assert not await store_rate(s, "SEK", date(2026, 11, 26), D("11"), "manual")
        assert await import_ecb(s, read("eurofxref.csv")) == 4
        assert (await rate_for(s, "SEK", date(2026, 11, 26))).source == "ECB"
        fixed = read("eurofxref.csv").replace(b", 10.9435,", b", 10.9500,")
        assert await import_ecb(s, fixed) == 1
        assert (await rate_for(s, "SEK", date(2026, 11, 26))).rate == D("10.95")


def test_conversion_through_the_euro_rounds_once() -> None:
    """1 EUR = 10.9435 SEK = 11.7520 NOK = 4.2418 PLN = 7.4689 DKK (2026-11-26).
    100.00 SEK -> EUR: 100 / 10.9435 = 9.13784... -> 9.14 (cross rate 0.091378).
    1000.00 SEK -> NOK: 1000 / 10.9435 x 11.7520 = 1073.8794... -> 1073.88 (1.073879).
    250.00 EUR -> PLN: 250 x 4.2418 = 1060.45. 1234.56 DKK -> EUR: 165.2934... -> 165.29."""
    day = date(2026, 11, 26)
    rates = {c: FxRate("EUR", c, D(r), day, "ECB") for c, r in (
        ("SEK", "10.9435"), ("NOK", "11.7520"), ("PLN", "4.2418"), ("DKK", "7.4689"))}
    assert convert(D("100.00"), "SEK", "EUR", rates) == (D("9.14"), D("0.091378"))
    assert convert(D("1000.00"), "SEK", "NOK", rates) == (D("1073.88"), D("1.073879"))
    assert convert(D("250.00"), "EUR", "PLN", rates) == (D("1060.45"), D("4.241800"))
    assert convert(D("1234.56"), "DKK", "EUR", rates)[0] == D("165.29")
    assert convert(D("12.345"), "EUR", "EUR", {}) == (D("12.35"), D(1))
    with pytest.raises(MissingFxRate, match="no GBP rate"):
        convert(D(1), "EUR", "GBP", rates)


@pytest.mark.parametrize(("data", "message"), [
    (b"hello", "must start with a 'Date"),
    (b"Date, SEK, \n31 Febtober 2026, 11.0, \n", "bad date"),
    (b"Date,SEK,\n2026-11-26,abc,\n", "bad rate 'abc'"),
    (b"Date,SEK,\n2026-11-26,-1,\n", "bad rate '-1'"),
    (b"<x/>", "no <Cube time="),
    (b"<x>", "not well-formed XML"),
    (b"PK\x03\x04broken", "bad zip"),
])
def test_bad_files_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_ecb(data)


@pytest.fixture
def ecb_server() -> Iterator[str]:
    """A real HTTP server on loopback serving tests/clearing/data/."""
    handler = functools.partial(_QuietHandler, directory=str(DATA))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


async def test_daily_import_from_a_configured_url_and_file(hub_ctx: HubContext,
                                                           ecb_server: str) -> None:
    clearing = hub_ctx.settings.clearing
    clearing.ecb_rates_url = f"{ecb_server}/eurofxref.zip"
    assert await ecb_import_job(hub_ctx) == 4
    assert await ecb_import_job(hub_ctx) == 0
    assert await import_ecb_from_source(hub_ctx, url=f"{ecb_server}/eurofxref-hist.xml") == 16
    clearing.ecb_rates_url = f"{ecb_server}/missing.csv"
    assert await ecb_import_job(hub_ctx) == 0  # logged, retried the next day
    with pytest.raises(InvalidInput, match="404"):
        await import_ecb_from_source(hub_ctx)
    clearing.ecb_rates_url = None
    clearing.ecb_rates_file = str(DATA / "eurofxref-hist.csv")
    assert await import_ecb_from_source(hub_ctx) == 4  # the 2005 rows
    clearing.ecb_rates_file = str(DATA / "nope.csv")
    with pytest.raises(InvalidInput, match=r"nope\.csv"):
        await import_ecb_from_source(hub_ctx)
    async with transaction(hub_ctx.sessionmaker) as s:
        assert len(await list_rates(s)) == 24


async def test_the_job_is_scheduled_daily_only_when_a_source_is_configured(
        hub_ctx: HubContext) -> None:
    scheduler = AsyncIOScheduler(timezone="UTC")
    schedule_ecb_import(hub_ctx, scheduler)
    assert scheduler.get_job("clearing_ecb_import") is None
    schedule_ecb_import(hub_ctx, None)  # no scheduler (scheduler_enabled=False): no error
    hub_ctx.settings.clearing.ecb_rates_file = str(DATA / "eurofxref.csv")
    hub_ctx.settings.clearing.ecb_import_time = "16:45"
    schedule_ecb_import(hub_ctx, scheduler)
    job = scheduler.get_job("clearing_ecb_import")
    assert job is not None
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("16", "45")
    hub_ctx.settings.clearing.ecb_import_time = "25:00"
    with pytest.raises(InvalidInput, match="ecb_import_time"):
        schedule_ecb_import(hub_ctx, scheduler)
