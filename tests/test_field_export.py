"""`kefu export field-records`: a period's field failure records as a workbook, streamed, the
count the database has, dates as dates, a customer's formula-looking text as text; past a
sheet's rows a new sheet begins (issue 16: the Excel export of much data, streamed)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from cases.settings import Settings
from cases.store.models import Customer, FieldFailure
from kefu.reports import records_workbook
from tests.databases import migrated
from tests.field_history import generate

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_operator_exports_a_quarters_field_records(settings: Settings, tmp_path: Path) -> None:
    from kefu.bootstrap import bootstrap

    await migrated(settings.sqlalchemy_url)
    kefu = bootstrap(settings)
    try:
        await generate(kefu.db)
        async with kefu.db.unit_of_work() as s:
            sly = Customer(name='=HYPERLINK("http://evil.example")', code="SLY", created_at=datetime.now(UTC))
            s.add(sly)
            await s.flush()
            await s.execute(
                insert(FieldFailure),
                [
                    {
                        "source_kind": "test",
                        "source_id": 1,
                        "case_id": None,
                        "customer_id": sly.id,
                        "part_number": "3501-999",
                        "batch": "B2026-0801",
                        "failure_mode": "M01",
                        "failure_date": date(2026, 8, 3),
                        "quantity": 2,
                        "recorded_at": datetime.now(UTC),
                    }
                ],
            )
        async with kefu.db.reader() as s:
            expected = await s.scalar(
                select(func.count())
                .select_from(FieldFailure)
                .where(FieldFailure.failure_date >= date(2026, 7, 1), FieldFailure.failure_date <= date(2026, 9, 30))
            )
    finally:
        await kefu.db.dispose()
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_DATABASE_URL": settings.database_url,
        "KEFU_SECRET_KEY": "test",
        "KEFU_LOG_LEVEL": "WARNING",
    }
    out = tmp_path / "q3.xlsx"
    args = ["export", "field-records", "--from", "2026-07-01", "--to", "2026-09-30", "--language", "en"]
    done = subprocess.run(
        [sys.executable, "-m", "kefu", *args, "--out", str(out)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{expected:,} field records from 2026-07-01 to 2026-09-30" in done.stderr
    assert done.stdout.strip() == f"{out}: {expected:,} records"
    sheet = load_workbook(out, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Failure date", "Part number", "Batch", "Failure mode")
    assert len(rows) - 1 == expected and expected > 100
    days = [r[0] for r in rows[1:]]
    assert all(isinstance(d, datetime) and datetime(2026, 7, 1) <= d <= datetime(2026, 9, 30) for d in days)
    (mine,) = [r for r in rows[1:] if r[1] == "3501-999"]
    assert mine[2:6] == ("B2026-0801", "M01", 2, '=HYPERLINK("http://evil.example")')  # text, not a formula
    backwards = ["--from", "2026-09-30", "--to", "2026-07-01", "--out", str(tmp_path / "x.xlsx")]
    bad = subprocess.run(
        [sys.executable, "-m", "kefu", "export", "field-records", *backwards],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "--to is before --from" in bad.stderr


def test_past_a_sheets_rows_a_new_sheet_begins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records_workbook, "RECORDS_A_SHEET", 4)
    monkeypatch.setattr(records_workbook, "PROGRESS_EVERY", 5)

    async def chunks() -> AsyncIterator[list[tuple[Any, ...]]]:
        for start in range(0, 10, 3):
            yield [
                (date(2026, 1, 1 + i), f"P{i}", "", "M00", 1, "OEM", None, "test", None, None, None)
                for i in range(start, min(start + 3, 10))
            ]

    said: list[int] = []
    out = tmp_path / "r.xlsx"
    written = asyncio.run(records_workbook.write_records(chunks(), out, "zh", said.append))
    assert written == 10 and said == [5, 10]
    sheets = load_workbook(out, read_only=True).worksheets
    assert [len(list(s.iter_rows(values_only=True))) for s in sheets] == [5, 5, 3]  # a heading each
    assert next(sheets[2].iter_rows(values_only=True))[0] == "失效日期"
