"""The procedure's reports in the console: drafted for a period (the page served with the API's
safe headers), issued as the next revision from a form, listed and downloaded as issued; who may
read and issue is the API's table and the service's rule (kefu/web/api/access.py,
cases/reports/issued.py), and a refusal says what the service says."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cases.domain.enums import Role
from cases.reports import issued
from cases.store.models import IssuedReport
from kefu.web.api.reports import PAGE_POLICY
from tests.apihelpers import open_case
from tests.consolehelpers import Browser, Console, console_fixture  # noqa: F401
from tests.quality_helpers import pdf_tools_missing


async def _issued_count(console: Console) -> int:
    async with console.kefu.db.reader() as s:
        return int((await s.scalar(select(func.count()).select_from(IssuedReport))) or 0)


async def _issue(b: Browser, **fields: str) -> tuple[int, str]:
    await b.get("/reports")
    resp = await b.post("/reports/issue", fields)
    return int(resp.status), resp.headers.get("Location", "") or await resp.text()


async def test_a_report_drafted_and_issued_from_the_console_is_listed_and_downloads(console: Console) -> None:
    await open_case(console.kefu, "刹车片异响")
    sales = await console.browser("sales")
    page = await sales.get("/reports")
    assert 'href="/reports"' in page and 'id="form-draft"' in page and 'id="form-issue"' in page
    assert "还没有发布的报告" in page
    # a draft: the report's own page, with the API's policy (no script, nothing from outside)
    draft = await sales.client.get("/reports/draft?kind=marketing&period=2026Q3&language=en")
    assert draft.status == 200 and "Marketing summary report" in await draft.text()
    assert draft.headers["Content-Security-Policy"] == PAGE_POLICY
    assert draft.headers["X-Content-Type-Options"] == "nosniff" and draft.headers["X-Frame-Options"] == "DENY"
    # the period as two dates, the workbook as a download
    book = await sales.client.get("/reports/draft?kind=review&first_day=2026-01-01&last_day=2026-06-30&format=xlsx")
    assert book.status == 200 and book.headers["Content-Disposition"].startswith("attachment;")
    assert "review-2026-01-01..2026-06-30-draft.xlsx" in book.headers["Content-Disposition"]
    first = load_workbook(io.BytesIO(await book.read()), read_only=True).worksheets[0]
    assert ("管理评审统计",) in list(first.iter_rows(values_only=True))
    # a period the service does not know: its words, the form kept
    bad = await sales.client.get("/reports/draft?kind=marketing&period=2026Q9")
    assert bad.status == 422 and "期间须为一个季度" in await bad.text()
    # issue: the next revision, then listed with who, when and who approved
    status, location = await _issue(sales, kind="marketing", period="2026Q3", language="zh", approved_by="王总")
    assert (status, location) == (303, "/reports?issued=DFCPXS009A-2026Q3-R1")
    page = await sales.get(location)
    assert "已发布：DFCPXS009A-2026Q3-R1" in page
    assert "DFCPXS009A-2026Q3-R1" in page and "王总" in page and "R1" in page and "营销总结报告" in page
    assert await _issue(sales, kind="marketing", period="2026Q3", language="zh", approved_by="王总") == (
        303,
        "/reports?issued=DFCPXS009A-2026Q3-R2",
    )
    # the service's refusals, in its words; nothing issued
    status, text = await _issue(sales, kind="marketing", period="2026Q3", approved_by="  ")
    assert status == 422 and "签发的报告须注明批准人" in text
    status, text = await _issue(sales, kind="weekly", period="2026Q3", approved_by="王总")
    assert status == 422
    assert await _issued_count(console) == 2
    # downloads as issued: the page with the API's policy, the workbook as an attachment
    html = await sales.client.get("/reports/DFCPXS009A-2026Q3-R1/html")
    assert html.status == 200 and "王总" in await html.text()
    assert html.headers["Content-Security-Policy"] == PAGE_POLICY
    xlsx = await sales.client.get("/reports/DFCPXS009A-2026Q3-R2/xlsx")
    assert xlsx.status == 200 and 'filename="DFCPXS009A-2026Q3-R2.xlsx"' in xlsx.headers["Content-Disposition"]
    assert (await sales.client.get("/reports/DFCPXS009A-2026Q3-R9/pdf")).status == 404
    assert (await sales.client.get("/reports/DFCPXS009A-2026Q3-R1/doc")).status == 404
    # the console's own page keeps the console's policy: no inline script or style
    listing = await sales.client.get("/reports")
    assert listing.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
    text = await listing.text()
    assert "<script>" not in text and " style=" not in text and "<style" not in text
    # the approvers read them too
    gm = await console.browser("gm")
    assert "DFCPXS009A-2026Q3-R2" in await gm.get("/reports")


async def test_an_issued_report_downloads_as_pdf(console: Console, tmp_path: Path) -> None:
    missing = pdf_tools_missing()
    if missing:
        pytest.skip(f"no PDF here: {missing}")
    qe = await console.browser("qe")
    status, location = await _issue(qe, kind="service", period="2026", language="zh", approved_by="王总")
    assert (status, location) == (303, "/reports?issued=DFCPZL063S-2026-R1")
    page = await qe.get(location)
    assert 'href="/reports/DFCPZL063S-2026-R1/pdf"' in page
    resp = await qe.client.get("/reports/DFCPZL063S-2026-R1/pdf")
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/pdf"
    assert 'filename="DFCPZL063S-2026-R1.pdf"' in resp.headers["Content-Disposition"]
    pdf = tmp_path / "r1.pdf"
    pdf.write_bytes(await resp.read())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "DFCPZL063S-2026-R1" in text and "服务报告年度汇总" in text


async def test_a_role_that_may_not_issue_is_refused(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    # Department members hold no company-wide figures: no link, no page, no draft, no issue.
    prod = await console.browser("prod")
    page = await prod.get("/")
    assert 'href="/reports"' not in page
    await prod.get("/reports", expect=403)
    assert (await prod.client.get("/reports/draft?kind=marketing&period=2026Q3")).status == 403
    resp = await prod.post("/reports/issue", {"kind": "marketing", "period": "2026Q3", "approved_by": "王总"})
    assert resp.status == 403
    nobody = await console.browser("nobody")
    await nobody.get("/reports", expect=403)
    # Without the CSRF token nobody issues anything.
    sales = await console.browser("sales")
    await sales.get("/reports")
    resp = await sales.post(
        "/reports/issue", {"kind": "marketing", "period": "2026Q3", "approved_by": "王总"}, csrf=False
    )
    assert resp.status == 403
    # The service's rule decides, not a copy of it: were approvers not issuers, an approver
    # would see no issue form, and a forged post would be refused in the service's words.
    monkeypatch.setattr(issued, "ISSUERS", frozenset({Role.SALES, Role.QUALITY, Role.ADMIN}))
    gm = await console.browser("gm")
    page = await gm.get("/reports")
    assert 'id="form-draft"' in page and 'id="form-issue"' not in page
    status, text = await _issue(gm, kind="marketing", period="2026Q3", approved_by="王总")
    assert status == 403 and "只有销售、质量、审批人或管理员可以签发报告" in text
    assert await _issued_count(console) == 0


async def test_the_reports_page_in_english(console: Console) -> None:
    admin = await console.browser("admin")
    await admin.get("/account")
    assert (await admin.post("/account/language", {"language": "en"})).status == 303
    page = await admin.get("/reports")
    assert 'lang="en"' in page and "Issue a report" in page and "Management review statistics" in page
    assert "报告" not in page
    assert "Export this list (Excel)" in await admin.get("/cases")
