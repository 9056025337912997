"""The early-warning scan over a large generated field history: wall time and memory.

Generates `--records` field failure records (default 1,000,000) over 24 months, spread over
PARTS x MODES cells and CUSTOMERS customers with a skewed rate per cell, plus monthly
shipments of every part (so the u-chart path runs), and a rise planted in one cell; then times
`EarlyWarning.scan()` (the catch-up, both aggregate queries, the judging, the alert) `--runs`
times, on SQLite by default or `--database-url postgresql+asyncpg://...` (an empty database).

    python -m bench.field_scan [--records 1000000] [--runs 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

PARTS = 500
MODES = 10
CUSTOMERS = 20
FIRST_DAY = date(2025, 1, 1)
DAYS = 730
CHUNK = 20000


def rss_mib() -> float:
    """Peak resident memory of this process so far (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return rss_mib()


def records(n: int, customer_ids: list[int], seed: int = 16) -> Any:
    """`n` records in chunks; a cell's weight is log-uniform over two decades."""
    rng = random.Random(seed)
    cells = [(f"P{p:05d}", f"M{m:02d}") for p in range(PARTS) for m in range(MODES)]
    weights = [10 ** rng.uniform(0, 2) for _ in cells]
    at = datetime(2027, 1, 1, tzinfo=UTC)
    made = 0
    while made < n:
        size = min(CHUNK, n - made)
        picked = rng.choices(cells, weights, k=size)
        chunk = []
        for part, mode in picked:
            made += 1
            day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
            chunk.append(
                {
                    "source_kind": "generated",
                    "source_id": made,
                    "case_id": None,
                    "customer_id": rng.choice(customer_ids),
                    "part_number": part,
                    "batch": f"B{day:%Y%m}",
                    "failure_mode": mode,
                    "failure_date": day,
                    "production_date": None,
                    "months_in_service": None,
                    "mileage_km": None,
                    "quantity": 1,
                    "recorded_at": at,
                }
            )
        yield chunk
    # The planted rise: 200 more failures of one cell in the last month.
    yield [
        {
            "source_kind": "planted",
            "source_id": i,
            "case_id": None,
            "customer_id": customer_ids[0],
            "part_number": "P00000",
            "batch": "B202612",
            "failure_mode": "M00",
            "failure_date": date(2026, 12, 1) + timedelta(days=i % 30),
            "production_date": None,
            "months_in_service": None,
            "mileage_km": None,
            "quantity": 1,
            "recorded_at": at,
        }
        for i in range(200)
    ]


async def fill(kefu: Any, n: int) -> float:
    from sqlalchemy import insert

    from cases.store.models import Customer, FieldFailure, Shipment

    t0 = time.perf_counter()
    now = datetime(2025, 1, 1, tzinfo=UTC)
    async with kefu.db.unit_of_work() as s:
        customers = [Customer(name=f"OEM {c}", code=f"OEM{c:02d}", created_at=now) for c in range(CUSTOMERS)]
        s.add_all(customers)
        await s.flush()
        ids = [c.id for c in customers]
    done = 0
    for chunk in records(n, ids):
        async with kefu.db.unit_of_work() as s:
            await s.execute(insert(FieldFailure), chunk)
        done += len(chunk)
        print(f"\r  {done:,} records written", end="", flush=True)
    print()
    ships = [
        {
            "part_number": f"P{p:05d}",
            "batch": "",
            "customer": f"OEM{c:02d}",
            "customer_id": ids[c],
            "month": date(2025 + m // 12, m % 12 + 1, 1),
            "quantity": 1000,
            "source": "bench",
            "imported_at": now,
        }
        for p in range(PARTS)
        for c in range(0, CUSTOMERS, 4)
        for m in range(24)
    ]
    for start in range(0, len(ships), CHUNK):
        async with kefu.db.unit_of_work() as s:
            await s.execute(insert(Shipment), ships[start : start + CHUNK])
    async with kefu.db.unit_of_work() as s:
        from sqlalchemy import text

        await s.execute(text("ANALYZE"))
    return time.perf_counter() - t0


async def run(args: argparse.Namespace) -> None:
    from cases.domain.clock import FrozenClock
    from cases.settings import Settings
    from cases.store.migrate import upgrade_async
    from kefu.bootstrap import bootstrap

    folder = Path(tempfile.mkdtemp(prefix="kefu-field-bench-"))
    settings = Settings(
        data_dir=folder,
        database_url=args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}",
        secret_key="bench",
        mail_domains=("bench.example",),
        log_level="WARNING",
    )
    await upgrade_async(settings.sqlalchemy_url)
    clock = FrozenClock(datetime.combine(date(2026, 12, 31), day_time(18), tzinfo=ZoneInfo("Asia/Shanghai")))
    kefu = bootstrap(settings, clock=clock)
    try:
        print(f"field scan bench: {args.records:,} records, {PARTS * MODES:,} cells, {CUSTOMERS} customers")
        if args.no_fill:
            print(f"  database {kefu.db.engine.dialect.name}; kept as it is (--no-fill)")
        else:
            print(f"  database {kefu.db.engine.dialect.name}; filled in {await fill(kefu, args.records):.1f} s")
        walls, cpus = [], []
        before = current_rss_mib()
        result = None
        for i in range(args.runs):
            clock.advance(seconds=1)
            cpu0, t0 = time.process_time(), time.perf_counter()
            result = await kefu.early_warning.scan()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - cpu0)
            print(
                f"  run {i + 1}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU; {result.cells:,} cells judged, "
                f"{len(result.signals)} signals, {len(result.opened)} new alerts"
            )
        after = current_rss_mib()
        assert result is not None
        rules = sorted({s.rule for s in result.signals})
        print(
            f"scan of {args.records:,} records: {statistics.median(walls):.2f} s median "
            f"({min(walls):.2f}-{max(walls):.2f}), CPU {statistics.median(cpus):.2f} s; "
            f"rules {', '.join(rules) or '-'}; RSS {before:.0f} -> {after:.0f} MiB"
        )
        await report_sections(kefu, clock.now)
        await export_records(kefu, folder)
    finally:
        await kefu.db.dispose()
        if args.keep:
            print(f"kept {folder} (its SQLite file: rerun with --no-fill --database-url)")
        else:
            shutil.rmtree(folder, ignore_errors=True)  # a million records are 180 MB


async def report_sections(kefu: Any, now: datetime) -> None:
    """The quarterly marketing report over the same history (issue 16): each section's time, the
    field ones (Pareto, PPM, alerts) reading every record of the quarter."""
    from cases.reports.kinds import REPORTS, ReportKind
    from cases.reports.period import parse_period

    period = parse_period("2026Q4", ZoneInfo("Asia/Shanghai"))
    total = 0.0
    print(f"marketing report, {period.key}, over the same records:")
    async with kefu.db.reader() as s:
        for name, section in REPORTS[ReportKind.MARKETING].sections:
            t0 = time.perf_counter()
            await section(s, period, now)
            took = time.perf_counter() - t0
            total += took
            print(f"  {name:<16} {took * 1000:8.1f} ms")
    print(f"marketing report of {period.key}: {total:.2f} s for all its sections")


async def export_records(kefu: Any, folder: Path) -> None:
    """Every record of the history as a workbook (`kefu export field-records`), streamed: the time,
    the rows a second, the file's size and the memory around it."""
    from cases.queries import field_records
    from kefu.reports.records_workbook import write_records

    out = folder / "field-records.xlsx"
    first, last = date(2000, 1, 1), date(2100, 12, 31)
    before = current_rss_mib()
    cpu0, t0 = time.process_time(), time.perf_counter()
    async with kefu.db.reader() as s:
        written = await write_records(
            field_records.records(s, first, last),
            out,
            "zh",
            lambda n: print(f"\r  {n:,} records exported", end="", flush=True),
        )
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print()
    print(
        f"export of {written:,} records to xlsx: {wall:.1f} s wall, {cpu:.1f} s CPU, "
        f"{written / wall:,.0f} rows/s, {out.stat().st_size / 2**20:.0f} MiB; "
        f"RSS {before:.0f} -> {current_rss_mib():.0f} MiB"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--database-url", default="", help="an empty database (default: a new SQLite file)")
    p.add_argument("--no-fill", action="store_true", help="scan the database as it is (filled by an earlier run)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder and its SQLite file")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
