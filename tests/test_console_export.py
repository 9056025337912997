""" "Export this list" on the console's case list: the workbook holds exactly the cases the list
matches for that person (every page of them, read back with openpyxl), in their language, times
in KEFU_TIMEZONE, a customer's "=formula" as text, and says so when the cap cuts it short."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from cases.queries import case_views
from cases.queries.case_views import EVERYTHING, CaseFilter, list_cases
from cases.store.models import Case
from kefu.console import export
from tests.apihelpers import open_case
from tests.consolehelpers import Browser, Console, console_fixture  # noqa: F401

HEADINGS_ZH = ["编号", "状态", "严重度", "主题", "客户", "收到", "部门", "客户期限", "类型", "渠道", "零件号", "更新"]


async def _sheet(b: Browser, query: str) -> list[tuple[Any, ...]]:
    resp = await b.client.get(f"/export/cases.xlsx{query}")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == export.XLSX
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="cases-')
    book = load_workbook(io.BytesIO(await resp.read()))
    return list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]


def _references(rows: list[tuple[Any, ...]]) -> list[str]:
    return [r[0] for r in rows[export.HEADING_ROW :]]


async def _assigned(console: Console, subject: str, department: str) -> str:
    reference = await open_case(console.kefu, subject)
    gm = await console.browser("gm")
    assert await gm.step(reference, "approve", department=department, severity="high") == 303
    return reference


async def test_the_export_holds_the_lists_matching_cases_in_order(console: Console) -> None:
    kefu = console.kefu
    refs = [await open_case(kefu, f"刹车片异响 {n}") for n in range(4)]
    other = await open_case(kefu, '=HYPERLINK("http://evil.example","点我")', "请点击链接。")
    quality = await _assigned(console, "刹车片异响 已分派", "quality")
    async with kefu.db.unit_of_work() as s:
        await s.execute(update(Case).where(Case.reference == refs[1]).values(part_number="3501-00123"))
    b = await console.browser("gm")
    page = await b.get("/cases?q=刹车片&sort=received&order=asc")
    assert 'id="export-link"' in page and "/export/cases.xlsx?q=" in page
    rows = await _sheet(b, "?q=刹车片&sort=received&order=asc")
    async with kefu.db.reader() as s:
        listed = await list_cases(s, EVERYTHING, CaseFilter(q="刹车片", sort="received_at", limit=200))
    assert _references(rows) == [c["reference"] for c in listed["items"]] == [*refs, quality]
    assert other not in _references(rows)
    assert rows[0][0].startswith(f"符合条件的案件：{len(refs) + 1} 件")
    assert rows[1] == (None,) * len(rows[1]) or not any(rows[1])  # not capped: no warning
    assert list(rows[export.HEADING_ROW - 1]) == HEADINGS_ZH
    by_ref = {r[0]: r for r in rows[export.HEADING_ROW :]}
    assigned = by_ref[quality]
    assert assigned[1] == "已分派" and assigned[2] == "高" and assigned[6] == "质量部"
    # times are the local time of KEFU_TIMEZONE, as dates Excel sorts
    item = next(c for c in listed["items"] if c["reference"] == refs[1])
    received = datetime.fromisoformat(item["received_at"].replace("Z", "+00:00"))
    assert by_ref[refs[1]][5] == received.astimezone(kefu.settings.tz).replace(tzinfo=None, microsecond=0)
    assert by_ref[refs[1]][10] == "3501-00123"
    # the same filters as the page: a state, a part number
    assert _references(await _sheet(b, "?state=assigned")) == [quality]
    assert _references(await _sheet(b, "?part_number=3501-001")) == [refs[1]]
    # a customer's formula is text in our sheet, never a formula
    formula = await _sheet(b, "?state=new&sort=received&order=desc")
    assert formula[export.HEADING_ROW][3].startswith("=HYPERLINK")
    resp = await b.client.get("/export/cases.xlsx?state=new")
    book = load_workbook(io.BytesIO(await resp.read()))
    cell = book.active.cell(row=export.HEADING_ROW + 1, column=4)  # type: ignore[union-attr]
    assert cell.data_type == "s"
    # a filter the list refuses, the export refuses the same way
    await b.get("/export/cases.xlsx?state=nonsense", expect=400)


async def test_a_department_member_exports_only_their_departments_cases(console: Console) -> None:
    ours = await _assigned(console, "生产设备部的案件", "production_equipment")
    theirs = await _assigned(console, "质量部的案件", "quality")
    unassigned = await open_case(console.kefu, "新案件")
    prod = await console.browser("prod")
    await prod.get("/cases")
    assert _references(await _sheet(prod, "")) == [ours]
    assert _references(await _sheet(prod, "?department=quality")) == []
    gm = await console.browser("gm")
    assert set(_references(await _sheet(gm, ""))) == {ours, theirs, unassigned}
    nobody = await console.browser("nobody")
    resp = await nobody.client.get("/export/cases.xlsx")
    assert resp.status == 403 and "spreadsheetml" not in resp.headers["Content-Type"]


async def test_a_capped_export_says_so_and_reads_every_page(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    refs = [await open_case(console.kefu, f"案件 {n}") for n in range(5)]
    monkeypatch.setattr(case_views, "MAX_LIMIT", 2)  # pages of two: the export follows the cursor
    b = await console.browser("admin")
    assert sorted(_references(await _sheet(b, ""))) == sorted(refs)
    monkeypatch.setattr(export, "EXPORT_CAP", 3)
    rows = await _sheet(b, "?sort=received&order=asc")
    assert _references(rows) == refs[:3]
    assert rows[1][0] == "只导出了前 3 件（共 5 件符合条件）；请缩小筛选范围。"
    await b.get("/account")
    await b.post("/account/language", {"language": "en"})
    rows = await _sheet(b, "?sort=received&order=asc")
    assert rows[1][0] == "Only the first 3 of the 5 matching cases are exported; narrow the filter for the rest."
    assert rows[export.HEADING_ROW - 1][:3] == ("Reference", "State", "Severity")
    assert rows[export.HEADING_ROW][1] == "new"
