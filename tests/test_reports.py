"""The procedure's reports on a real database: a seeded quarter counted right (each figure checked
against an independent query), the quarter's edges in the site's time zone, the documents (HTML
with SVG charts whose text is text, Excel read back with openpyxl, PDF read back with pdftotext),
issued revisions frozen by the database, and the command line as an operator types it."""

from __future__ import annotations

import io
import os
import random
import shutil
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from cases.domain.actors import Actor
from cases.domain.clock import FrozenClock
from cases.domain.enums import CaseState, CaseType, Channel, Language, Role, Satisfaction, Severity
from cases.domain.errors import Forbidden, InvalidInput
from cases.domain.intake_message import IntakeMessage
from cases.field.records import feed_warranty_part
from cases.reports.kinds import ReportKind
from cases.reports.period import parse_period, previous_quarter
from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import Case, Customer, FieldFailure, WarrantyPart
from kefu.bootstrap import Kefu, bootstrap
from kefu.documents.render import Header
from kefu.reports import build
from kefu.reports.render import render_pdf
from tests.apihelpers import Api, api_fixture  # noqa: F401  (the fixture)
from tests.conftest import ListTransport
from tests.databases import migrated

SHANGHAI = ZoneInfo("Asia/Shanghai")
SALES = Actor("sales.li", frozenset({Role.SALES}))
Q3 = parse_period("2026Q3", SHANGHAI)


def test_periods_are_the_site_calendars_quarters_years_and_ranges() -> None:
    assert (Q3.first_day, Q3.last_day) == (date(2026, 7, 1), date(2026, 9, 30))
    assert Q3.start == datetime(2026, 6, 30, 16, 0, tzinfo=UTC)  # midnight in Shanghai
    q4 = parse_period("2026 q4", SHANGHAI)
    assert (q4.key, q4.last_day, q4.end) == ("2026Q4", date(2026, 12, 31), datetime(2026, 12, 31, 16, tzinfo=UTC))
    assert parse_period("2026", SHANGHAI).months()[-1] == date(2026, 12, 1)
    ranged = parse_period("2026-07-15..2026-08-02", SHANGHAI)
    assert ranged.key == "2026-07-15..2026-08-02" and [m.month for m in ranged.months()] == [7, 8]
    assert previous_quarter(date(2026, 10, 3), SHANGHAI).key == "2026Q3"
    assert previous_quarter(date(2026, 1, 3), SHANGHAI).key == "2025Q4"
    for bad in ("2026Q5", "Q3", "2026-09-31..2026-10-01", "2026-10-01..2026-09-01", "next quarter"):
        with pytest.raises(InvalidInput):
            parse_period(bad, SHANGHAI)


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[Kefu, FrozenClock]]:
    await migrated(settings.sqlalchemy_url)
    clock = FrozenClock(datetime(2026, 10, 9, 2, 0, tzinfo=UTC))
    kefu = bootstrap(settings, clock=clock, transport=ListTransport(), poll_seconds=0.2)
    await seed_departments(kefu.db)
    try:
        yield kefu, clock
    finally:
        await kefu.db.dispose()


CUSTOMERS = ["faw-parts.cn", "byd-parts.cn", "chery-parts.cn", "geely-parts.cn"]
PARTS = ["SG-4410", "SG-4420", "BR-1001", "BR-1002", "CL-77"]
MODES = ["LEAK", "NOISE", "CRACK", "WEAR"]  # seeded by migration 0013 (异响, 泄漏, ...)


async def _seed(kefu: Kefu) -> None:
    """Cases from the second to the fourth quarter, some closed with a rating, and warranty parts."""
    rng = random.Random(20261009)
    times = [Q3.start - timedelta(days=rng.randint(1, 80)) for _ in range(8)]
    times += [Q3.start + timedelta(hours=1)]  # 01:00 on 1 July in Shanghai, still 30 June in UTC: Q3
    times += [Q3.start - timedelta(hours=1)]  # 23:00 on 30 June in Shanghai: Q2
    times += [Q3.start + timedelta(days=rng.randint(0, 91), hours=rng.randint(0, 23)) for _ in range(30)]
    times += [Q3.end + timedelta(days=rng.randint(0, 5)) for _ in range(4)]
    for n, received in enumerate(times):
        sender = f"buyer{n % 3}@{rng.choice(CUSTOMERS)}"
        msg = IntakeMessage(
            channel=rng.choice([Channel.EMAIL, Channel.FAX, Channel.TELEGRAM]),
            source_id=uuid.uuid4().hex,
            sender_identity=sender,
            sender_name=sender,
            subject=f"投诉 {n}",
            text="质量问题",
            new_text="质量问题",
            received_at=received,
            language=Language.ZH,
            message_id=f"{uuid.uuid4().hex}@x",
        )
        async with kefu.db.unit_of_work() as s:
            outcome = await kefu.service.receive(s, msg)
            case = (await s.execute(select(Case).where(Case.reference == outcome.reference))).scalar_one()
            case.received_at = received
            case.type = rng.choice([CaseType.QUALITY_COMPLAINT, CaseType.WARRANTY_CLAIM, CaseType.ONSITE_SERVICE])
            case.severity = rng.choice(list(Severity))
            case.part_number = rng.choice([*PARTS, None])
            if rng.random() < 0.6:
                case.state = CaseState.CLOSED
                case.closed_at = received + timedelta(days=rng.randint(1, 40), hours=3)
                case.rating = rng.choice(list(Satisfaction))
                case.rating_score = {"satisfied": 4, "neutral": 3, "unsatisfied": 2}.get(case.rating)
            if rng.random() < 0.5:
                part = WarrantyPart(
                    case_id=case.id,
                    part_number=case.part_number or "SG-4410",
                    quantity_received=rng.randint(1, 4),
                    failure_mode=rng.choice(MODES),
                    failure_date=(received + timedelta(hours=rng.choice([-30, 2]))).astimezone(SHANGHAI).date(),
                    decision=rng.choice(["ours", "not_ours", "no_trouble_found", None]),
                    cost_cents=rng.choice([None, 12050, 30000]),
                    months_in_service=rng.randint(0, 18),
                    created_by="qe",
                    created_at=received + timedelta(hours=2),
                )
                s.add(part)
                await s.flush()
                await feed_warranty_part(s, part, case, SHANGHAI, received)  # the field failure record


async def _independent(kefu: Kefu) -> dict[str, Any]:
    """The figures, counted a second way: rows fetched and counted in Python."""
    async with kefu.db.reader() as s:
        cases = (await s.execute(select(Case))).scalars().all()
        names = {c.id: c.name for c in (await s.execute(select(Customer))).scalars()}
        parts = (await s.execute(select(WarrantyPart))).scalars().all()
        failures = (await s.execute(select(FieldFailure))).scalars().all()
    local = [(c, c.received_at.astimezone(SHANGHAI).date()) for c in cases]
    inside = [c for c, day in local if Q3.first_day <= day <= Q3.last_day]
    closed_inside = [
        c for c in cases if c.closed_at and Q3.first_day <= c.closed_at.astimezone(SHANGHAI).date() <= Q3.last_day
    ]
    wp = [p for p in parts if Q3.first_day <= p.created_at.astimezone(SHANGHAI).date() <= Q3.last_day]
    modes: Counter[str] = Counter()
    for f in failures:
        if Q3.first_day <= f.failure_date <= Q3.last_day and f.failure_mode:
            modes[f.failure_mode] += f.quantity
    return {
        "received": len(inside),
        "closed": len(closed_inside),
        "by_channel": Counter(str(c.channel) for c in inside),
        "by_customer": Counter(names[c.customer_id] for c in inside),
        "ratings": Counter(str(c.rating) for c in closed_inside if c.rating),
        "decisions": Counter(p.decision or "undecided" for p in wp),
        "modes": modes,
        "september": sum(1 for _, day in local if (day.year, day.month) == (2026, 9)),
    }


async def test_the_quarterly_report_counts_what_an_independent_query_counts(world: tuple[Kefu, FrozenClock]) -> None:
    kefu, clock = world
    await _seed(kefu)
    data = await build.draft(kefu.db, ReportKind.MARKETING, Q3, clock())
    want = await _independent(kefu)
    got = data["sections"]
    assert got["totals"]["received"] == want["received"] and got["totals"]["closed"] == want["closed"]
    assert {r["key"]: r["count"] for r in got["by_channel"]["rows"]} == dict(want["by_channel"])
    assert {r["key"]: r["count"] for r in got["by_customer"]["rows"]} == dict(want["by_customer"])
    assert {k: n for k, n in got["satisfaction"]["counts"].items() if n} == dict(want["ratings"])
    assert {r["decision"]: r["records"] for r in got["warranty"]["rows"]} == dict(want["decisions"])
    pareto = got["failure_modes"]["rows"]
    assert {r["key"]: r["count"] for r in pareto} == dict(want["modes"])
    assert [r["count"] for r in pareto] == sorted((r["count"] for r in pareto), reverse=True)
    assert pareto[-1]["cumulative"] == 1.0 and sum(want["modes"].values()) > 0
    assert {(r["key"], r["name_zh"]) for r in pareto} <= {
        ("LEAK", "泄漏"),
        ("NOISE", "异响"),
        ("CRACK", "开裂"),
        ("WEAR", "磨损"),
    }
    rates = {r["part_number"]: r for r in got["field_rates"]["rows"]}
    assert sum(r["failures"] for r in rates.values()) == got["field_rates"]["failures"] > 0
    # the months-in-service curves: the quarter's most failing part first, every age of its life
    most = max(rates.values(), key=lambda r: (r["failures"], r["part_number"]))["failures"]
    curve_parts = list(dict.fromkeys(r["part_number"] for r in got["service_life"]["rows"]))
    assert 1 <= len(curve_parts) <= 3 and rates[curve_parts[0]]["failures"] == most
    ages = [r["months_in_service"] for r in got["service_life"]["rows"] if r["part_number"] == curve_parts[0]]
    assert ages == list(range(len(ages)))
    months = {m["month"]: m["count"] for m in got["trend"]["months"]}
    assert len(months) == 12 and months["2026-09"] == want["september"]
    assert got["trend"]["upper_limit"] > got["trend"]["centre"]
    answered = sum(n for k, n in want["ratings"].items() if k != "no_response")
    assert got["satisfaction"]["answered"] == answered


async def test_the_documents_carry_the_figures_in_chinese_and_english(
    world: tuple[Kefu, FrozenClock], tmp_path: Path
) -> None:
    kefu, clock = world
    await _seed(kefu)
    data = await build.draft(kefu.db, ReportKind.MARKETING, Q3, clock())
    docs = build.documents(
        data, "zh", Header("华东汽车零部件有限公司"), pdf=False, record_number="DFCPXS009A-2026Q3-R1"
    )
    assert "营销总结报告" in docs.html and "华东汽车零部件有限公司" in docs.html and "DFCPXS009A-2026Q3-R1" in docs.html
    assert docs.html.count("<svg") >= 3 and "失效模式排列图" in docs.html  # charts inline, titles as text
    assert "按使用月数的累计失效率（每千件）" in docs.html
    assert "泄漏" in docs.html or "异响" in docs.html  # failure modes by their names, not their codes
    assert f'<th>收到</th><td class="n">{data["sections"]["totals"]["received"]}</td>' in docs.html
    book = load_workbook(io.BytesIO(docs.xlsx), read_only=True)
    assert "概况" in book.sheetnames and "按渠道" in book.sheetnames
    rows = list(book["概况"].iter_rows(values_only=True))
    assert ("收到", data["sections"]["totals"]["received"]) in rows
    english = build.documents(data, "en", Header("East China Auto Parts"), pdf=False)
    assert "Marketing summary report" in english.html and "Draft (not issued)" in english.html
    assert "<script" not in english.html

    if render_pdf("<p>x</p>") is None or shutil.which("pdftotext") is None:
        pytest.skip("no PDF here: WeasyPrint with Pango (.ci/run installs them) and pdftotext are needed")
    pdf = tmp_path / "q3.pdf"
    pdf.write_bytes(
        build.documents(data, "zh", Header("华东汽车零部件有限公司"), record_number="DFCPXS009A-2026Q3-R1").pdf or b""
    )
    extracted = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "营销总结报告" in extracted and "DFCPXS009A-2026Q3-R1" in extracted and "失效模式" in extracted


async def test_an_issued_report_is_frozen_and_a_rerun_is_the_next_revision(world: tuple[Kefu, FrozenClock]) -> None:
    kefu, clock = world
    await _seed(kefu)
    first, first_docs = await build.issue(
        kefu.db, SALES, ReportKind.MARKETING, Q3, "zh", Header("华东"), "王总", clock(), progress=None
    )
    assert first["record_number"] == "DFCPXS009A-2026Q3-R1" and first["approved_by"] == "王总"
    clock.advance(days=2)
    second, _ = await build.issue(kefu.db, SALES, ReportKind.MARKETING, Q3, "zh", Header("华东"), "王总", clock())
    assert second["record_number"] == "DFCPXS009A-2026Q3-R2" and second["revision"] == 2
    async with kefu.db.reader() as s:
        from cases.reports import issued

        listed = await issued.issued(s, ReportKind.MARKETING)
        html, content_type, name = await issued.issued_file(s, "DFCPXS009A-2026Q3-R1", "html")
    assert [r["revision"] for r in listed] == [2, 1]
    assert html.decode() == first_docs.html and name == "DFCPXS009A-2026Q3-R1.html" and "text/html" in content_type
    for sql in ("UPDATE issued_reports SET approved_by = 'someone else'", "DELETE FROM issued_reports"):
        with pytest.raises(Exception, match=r"(?i)append-only"):
            async with kefu.db.unit_of_work() as s:
                await s.execute(text(sql))
    with pytest.raises(Forbidden):
        await build.issue(
            kefu.db,
            Actor("dept", frozenset({Role.DEPARTMENT})),
            ReportKind.MARKETING,
            Q3,
            "zh",
            Header("x"),
            "y",
            clock(),
        )
    with pytest.raises(InvalidInput, match="approved"):
        await build.issue(kefu.db, SALES, ReportKind.MARKETING, Q3, "zh", Header("华东"), " ", clock())
    async with kefu.db.reader() as s:
        assert await s.scalar(select(func.count()).select_from(text("issued_reports"))) == 2


def _kefu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kefu", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_the_operator_drafts_and_issues_a_quarter_from_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "test", "KEFU_LOG_LEVEL": "WARNING"}
    assert _kefu(env, "db", "upgrade").returncode == 0
    out = tmp_path / "reports"
    draft = _kefu(env, "report", "quarterly", "--quarter", "2026Q3", "--out", str(out), "--no-pdf")
    assert draft.returncode == 0, draft.stderr
    assert "counting marketing 2026Q3" in draft.stderr  # progress on stderr
    assert (out / "marketing-2026Q3-draft.html").exists() and (out / "marketing-2026Q3-draft.xlsx").exists()
    refused = _kefu(env, "report", "quarterly", "--quarter", "2026Q3", "--issue", "--no-pdf")
    assert refused.returncode == 1 and "approved" in refused.stderr
    bad = _kefu(env, "report", "review", "--period", "2026Q7")
    assert bad.returncode == 1 and "a period is a quarter" in bad.stderr
    issued = _kefu(env, "report", "service", "--year", "2026", "--out", str(out), "--issue", "--approved-by", "王总")
    assert issued.returncode == 0, issued.stderr
    assert "issued DFCPZL063S-2026-R1" in issued.stdout
    listed = _kefu(env, "report", "list")
    assert "DFCPZL063S-2026-R1" in listed.stdout and "王总" in listed.stdout
    got = _kefu(env, "report", "get", "DFCPZL063S-2026-R1", "--format", "xlsx", "--out", str(tmp_path / "s.xlsx"))
    assert got.returncode == 0 and load_workbook(tmp_path / "s.xlsx").sheetnames[1] == "现场服务报告"


async def test_staff_draft_issue_and_download_reports_over_the_api(api: Api) -> None:
    page = await api.client.get(
        "/api/v1/reports/drafts/marketing?period=2026Q3&language=en",
        headers={"Authorization": f"Bearer {api.tokens['sales']}"},
    )
    assert page.status == 200 and "Marketing summary report" in await page.text()
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    book = await api.client.get(
        "/api/v1/reports/drafts/review?period=2026-01-01..2026-06-30&format=xlsx",
        headers={"Authorization": f"Bearer {api.tokens['gm']}"},
    )
    assert book.status == 200 and "attachment" in book.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(await book.read()), read_only=True)
    first_sheet = workbook[workbook.sheetnames[0]]
    assert ("管理评审统计",) in list(first_sheet.iter_rows(values_only=True))
    assert (await api.error("sales", "GET", "/reports/drafts/marketing?period=2026Q9", expect=422))["message"]
    assert await api.error("prod", "GET", "/reports", expect=403)  # department members: no company-wide figures
    issued = await api.call(
        "sales", "POST", "/reports", {"kind": "service", "period": "2026", "approved_by": "王总"}, expect=201
    )
    assert issued["record_number"] == "DFCPZL063S-2026-R1" and issued["issued_by"] == "sales"
    assert (await api.call("qe", "GET", "/reports?kind=service"))["items"] == [issued]
    html = await api.client.get(
        "/api/v1/reports/DFCPZL063S-2026-R1/html", headers={"Authorization": f"Bearer {api.tokens['qe']}"}
    )
    assert html.status == 200 and "服务报告年度汇总" in await html.text() and "王总" in await html.text()
    await api.error("sales", "POST", "/reports", {"kind": "service", "period": "2026"}, expect=400)
    await api.error("sales", "POST", "/reports", {"kind": "weekly", "period": "2026", "approved_by": "x"}, expect=422)
    await api.error("sales", "GET", "/reports/DFCPZL063S-2026-R9/pdf", expect=404)


def test_a_customers_text_that_looks_like_a_formula_stays_text_in_the_workbook() -> None:
    from kefu.reports.workbook import render_xlsx

    sly = '=HYPERLINK("http://evil.example","点这里")'
    data = {
        "title": {"zh": "营销总结报告", "en": "Marketing summary report"},
        "period": "2026Q3",
        "first_day": "2026-07-01",
        "last_day": "2026-09-30",
        "sections": {"by_customer": {"rows": [{"key": sly, "count": 3}, {"key": "主机厂 A", "count": 2}]}},
    }
    book = load_workbook(io.BytesIO(render_xlsx(data, "zh")))
    sheet = book.worksheets[1]
    cells = {c.value: c.data_type for row in sheet.iter_rows() for c in row if c.value is not None}
    assert cells[sly] == "s" and cells[3] == "n"  # the text is text, the count still a number
