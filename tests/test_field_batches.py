"""Shipments imported from CSV and Excel, and batch traceability (issue 16): a failed batch
lists the customers, shipments and complaints that concern it, from the API and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from cases.field.shipment_files import read_rows
from cases.field.shipments import import_rows
from cases.store.models import Shipment
from tests.quality_helpers import Quality, quality  # noqa: F401 (the fixture)

BATCH = "B2026-1107"
CSV = f"""零件号,批次,客户,月份,数量
3501-00123,{BATCH},OEM-A,2026-09,1200
3501-00123,{BATCH},OEM-B,2026-10,800
3501-00123,{BATCH},OEM-B,2026-10,200
3501-00123,B2026-1201,OEM-A,2026-12,500
,{BATCH},OEM-C,2026-10,5
3501-00123,{BATCH},OEM-C,2026-13,5
3501-00123,{BATCH},OEM-C,2026-10,many
3501-00123,{BATCH},OEM-C,2026-10,-3
"""


async def _totals(q: Quality) -> tuple[int, int]:
    async with q.kefu.db.reader() as s:
        rows = int(await s.scalar(select(func.count()).select_from(Shipment)) or 0)
        units = int(await s.scalar(select(func.sum(Shipment.quantity))) or 0)
    return rows, units


async def test_shipments_import_reports_rejected_rows_and_a_second_import_changes_nothing(
    quality: Quality, tmp_path: Path
) -> None:
    path = tmp_path / "shipments.csv"
    path.write_text(CSV, encoding="gb18030")  # as a Chinese Excel saves it
    seen: list[int] = []
    report = await import_rows(quality.kefu.db, read_rows(path), path.name, quality.clock(), seen.append)
    assert report.rows == 8 and report.stored == 3
    assert [line for line, _ in report.rejected] == [6, 7, 8, 9]
    reasons = dict(report.rejected)
    assert "part number is empty" in reasons[6] and "2026-13" in reasons[7]
    assert "not a whole number" in reasons[8] and "out of range" in reasons[9]
    assert seen and seen[-1] == 8  # progress
    assert await _totals(quality) == (3, 2700)  # the two OEM-B lines of October add up
    again = await import_rows(quality.kefu.db, read_rows(path), path.name, quality.clock())
    assert again.stored == 3 and await _totals(quality) == (3, 2700)


async def test_shipments_import_reads_an_excel_workbook(quality: Quality, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["part_number", "batch", "customer", "month", "quantity"])
    sheet.append(["3501-00123", BATCH, "OEM-A", date(2026, 9, 1), 1200])
    sheet.append(["3501-00123", BATCH, "OEM-B", "2026-10", 1000.0])
    sheet.append(["3501-00123", BATCH, "OEM-B", "October", 1])
    book.save(tmp_path / "shipments.xlsx")
    report = await import_rows(quality.kefu.db, read_rows(tmp_path / "shipments.xlsx"), "x", quality.clock())
    assert report.stored == 2 and [line for line, _ in report.rejected] == [4]
    assert await _totals(quality) == (2, 2200)


async def test_a_failed_batch_lists_its_customers_shipments_and_complaints(quality: Quality, tmp_path: Path) -> None:
    path = tmp_path / "shipments.csv"
    path.write_text(CSV, encoding="utf-8")
    await import_rows(quality.kefu.db, read_rows(path), path.name, quality.clock())
    first = await quality.receive("刹车片异响", f"零件号：3501-00123\n批次：{BATCH}\n装车后异响。")
    second = await quality.receive("刹车片磨损", "零件号：3501-00123\n磨损严重。", sender="li.na@faw-parts.cn")
    await quality.api.call(
        "sales",
        "POST",
        f"/cases/{second.reference}/warranty-parts",
        {"part_number": "3501-00123", "batch": BATCH, "failure_mode": "wear"},
        expect=201,
    )
    await quality.receive("别的批次", "零件号：3501-00123\n批次：B2026-1201\n异响。", sender="wang@oem.example")

    trace = await quality.api.call("tech", "GET", f"/batches/{BATCH}")
    assert trace["shipped"] == 2200
    assert {(c["customer"], c["shipped"]) for c in trace["customers"] if c["shipped"]} == {
        ("OEM-A", 1200),
        ("OEM-B", 1000),
    }
    assert [(s["customer"], s["month"], s["quantity"]) for s in trace["shipments"]] == [
        ("OEM-A", "2026-09", 1200),
        ("OEM-B", "2026-10", 1000),
    ]
    assert {c["reference"] for c in trace["complaints"]} == {first.reference, second.reference}
    # "wear" names the list's code WEAR
    assert {(f["failure_mode"], f["records"]) for f in trace["failures"]} == {("", 1), ("WEAR", 1)}
    await quality.api.call("tech", "GET", "/batches/B1999-0000", expect=404)
    await quality.api.call("nobody", "GET", f"/batches/{BATCH}", expect=403)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kefu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_the_operator_imports_shipments_and_shows_a_batch(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _run(env, "db", "upgrade").returncode == 0
    path = tmp_path / "shipments.csv"
    path.write_text(CSV, encoding="utf-8")
    done = _run(env, "import", "shipments", str(path))
    assert done.returncode == 1  # rows were rejected: a script sees it
    assert "8 rows, 3 shipments stored, 4 rejected" in done.stdout
    assert "line 7: month '2026-13' is not a month" in done.stdout and "rows read" in done.stderr
    again = _run(env, "import", "shipments", str(path))
    assert "3 shipments stored" in again.stdout
    shown = _run(env, "batch", "show", BATCH)
    assert shown.returncode == 0, shown.stderr
    assert f"batch {BATCH}: 2200 units shipped" in shown.stdout
    assert "2026-10  3501-00123" in shown.stdout and "OEM-B" in shown.stdout
    scan = _run(env, "warnings", "scan")
    assert scan.returncode == 0 and "0 new alerts" in scan.stdout, scan.stderr
    edited = _run(env, "warnings", "thresholds", "3501-00123", "*", "--alpha", "0.0001", "--min-count", "2")
    assert edited.returncode == 0 and "3501-00123       *            alpha 0.0001  min count 2" in edited.stdout
    bad = _run(env, "warnings", "thresholds", "*", "*", "--alpha", "0.9")
    assert bad.returncode == 1 and "below 0.5" in bad.stderr
    assert "(0 of 0)" in _run(env, "warnings", "list").stdout
    missing = _run(env, "warnings", "ack", "7", "recall")
    assert missing.returncode == 1 and "no early-warning alert #7" in missing.stderr
    unknown = _run(env, "batch", "show", "B1999-0000")
    assert unknown.returncode == 1 and "nothing is known of batch B1999-0000" in unknown.stderr


async def test_the_database_sums_the_same_units_in_service_as_the_months_say(quality: Quality, tmp_path: Path) -> None:
    from cases.field.exposure import exposure, exposures
    from cases.field.scan import Window

    path = tmp_path / "shipments.csv"
    path.write_text(CSV, encoding="utf-8")
    await import_rows(quality.kefu.db, read_rows(path), path.name, quality.clock())
    w = Window.ending(date(2026, 12, 20), 30, 90)  # the window starts within November
    shipped = [(date(2026, 9, 1), 1200), (date(2026, 10, 1), 1000), (date(2026, 12, 1), 500)]
    async with quality.kefu.db.reader() as s:
        found = await exposures(s, ["3501-00123"], w.baseline_period, (w.start, w.end))
    assert found[("3501-00123", None)] == (
        exposure(shipped, *w.baseline_period),
        exposure(shipped, w.start, w.end),
    )
    assert found[("3501-00123", None)][1] == 2200 * 30 + 500 * 20
