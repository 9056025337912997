"""The early warning over a generated field history (issue 16, "How we will check it"): a
planted rise in one part x failure-mode cell raises that alert, linked to its cases, and
notifies Sales, Quality, Technical Development and Production Equipment once; the next scan
does not alert again; the same history without the rise raises at most one alert in all."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cases.field.alerts import Decision
from cases.store.models import WarningAlert
from tests.field_history import CUSTOMERS, MODES, PARTS, PLANTED, generate, month_ends
from tests.quality_helpers import Quality, quality  # noqa: F401 (the fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEPARTMENTS = {
    "sales@supplier.example",  # Sales (who runs the system)
    "qe@supplier.example",  # Quality
    "tech@supplier.example",  # Technical Development
    "prod@supplier.example",  # Production Equipment
}


def evening(day: object) -> datetime:
    return datetime.combine(day, time(18, 0), tzinfo=SHANGHAI)  # type: ignore[arg-type]


async def _alerts(q: Quality) -> list[WarningAlert]:
    async with q.kefu.db.reader() as s:
        return list((await s.execute(select(WarningAlert).order_by(WarningAlert.id))).scalars())


async def test_the_history_without_a_rise_raises_at_most_one_alert_in_twelve_monthly_scans(quality: Quality) -> None:
    await generate(quality.kefu.db)
    judged = 0
    for day in month_ends():
        quality.clock.now = evening(day)
        judged += (await quality.kefu.early_warning.scan()).cells
    alerts = await _alerts(quality)
    cell_months = PARTS * MODES * (1 + CUSTOMERS) * 12  # every cell, overall and per customer, monthly
    assert len(alerts) <= 1, [(a.cell, a.observed, a.expected, a.p_value) for a in alerts]
    assert len(alerts) / cell_months < 0.001  # the stated false-alarm rate: under 0.1% of cell-months
    assert judged > 0  # the scans did judge cells: the history is not too thin to signal


async def test_a_planted_rise_raises_its_alert_with_its_cases_and_notifies_the_departments_once(
    quality: Quality,
) -> None:
    await generate(quality.kefu.db)
    part, mode = PLANTED
    # The rise: nine more returned parts of the planted cell in December 2026, each on its own
    # complaint, recorded by Sales as warranty parts (which feed the field records).
    references = []
    for n in range(9):
        quality.clock.now = evening(datetime(2026, 12, 3 + 2 * n).date())
        reference = await quality.open_case(f"刹车片异响 {n}")
        await quality.api.call(
            "sales",
            "POST",
            f"/cases/{reference}/warranty-parts",
            {
                "part_number": part,
                "failure_mode": mode,
                "batch": "B2026-1107",
                "failure_date": f"2026-12-{3 + 2 * n:02d}",
            },
            expect=201,
        )
        references.append(reference)
    quality.clock.now = evening(month_ends()[-1])
    result = await quality.kefu.early_warning.scan()
    alerts = await _alerts(quality)
    planted = [a for a in alerts if (a.part_number, a.failure_mode) == PLANTED]
    assert len(planted) == 1, [(a.cell, a.observed) for a in alerts]
    assert len(alerts) <= 2  # the planted alert, and at most one false alarm beside it
    alert = planted[0]
    assert alert.customer_id is None and alert.observed >= 9 and alert.p_value <= 1e-5
    assert alert.id in result.opened

    detail = await quality.api.call("qe", "GET", f"/field/alerts/{alert.id}")
    assert {c["reference"] for c in detail["cases"]} == set(references)

    notices = await quality.deliveries("early_warning")
    planted_notices = [d for d in notices if d.case_id == alert.case_id]
    assert sorted(d.recipient for d in planted_notices if d.channel == "email") == sorted(DEPARTMENTS)
    mails = quality.mails_to("tech@supplier.example", f"#{alert.id}")
    assert len(mails) == 1 and part in str(mails[0]["Subject"])

    # The same signal in the next scan, and the day after, does not alert again.
    again = await quality.kefu.early_warning.scan()
    quality.clock.advance(days=1)
    later = await quality.kefu.early_warning.scan()
    assert alert.id not in again.opened + later.opened
    assert not [a for a in await _alerts(quality) if (a.part_number, a.failure_mode) == PLANTED and a.id != alert.id]
    assert len(await quality.deliveries("early_warning")) == len(notices)

    # A person acknowledges it with a decision, once.
    done = await quality.api.call(
        "qe", "POST", f"/field/alerts/{alert.id}/acknowledge", {"decision": "containment", "note": "批次隔离"}
    )
    assert done["decision"] == Decision.CONTAINMENT and done["acknowledged_by"] == "qe"
    await quality.api.call("qe", "POST", f"/field/alerts/{alert.id}/acknowledge", {"decision": "recall"}, expect=409)
    await quality.api.call("prod", "POST", f"/field/alerts/{alert.id}/acknowledge", {"decision": "recall"}, expect=403)
    after = await quality.kefu.early_warning.scan()
    assert not [
        a for a in await _alerts(quality) if a.id in after.opened and (a.part_number, a.failure_mode) == PLANTED
    ]
    open_list = await quality.api.call("tech", "GET", "/field/alerts")
    assert alert.id not in [a["id"] for a in open_list["items"]]


async def test_feeding_the_same_source_again_keeps_one_record(quality: Quality) -> None:
    from cases.field.records import catch_up
    from cases.store.models import FieldFailure

    reference = await quality.open_case("异响")  # the case names part 3501-00123
    await catch_up(quality.kefu.db, SHANGHAI, quality.clock())
    await catch_up(quality.kefu.db, SHANGHAI, quality.clock())
    async with quality.kefu.db.reader() as s:
        kinds = list((await s.execute(select(FieldFailure.source_kind))).scalars())
    assert kinds == ["complaint"]
    await quality.api.call(
        "sales",
        "POST",
        f"/cases/{reference}/warranty-parts",
        {"part_number": "3501-00123", "quantity_received": 2},
        expect=201,
    )
    assert await catch_up(quality.kefu.db, SHANGHAI, quality.clock()) == 0
    async with quality.kefu.db.reader() as s:
        rows = (await s.execute(select(FieldFailure.source_kind, FieldFailure.quantity))).all()
        total = await s.scalar(select(func.count()).select_from(FieldFailure))
    # The warranty part describes the complaint's failure better: one record, not two.
    assert [tuple(r) for r in rows] == [("warranty_part", 2)] and total == 1


async def test_a_service_report_with_parts_replaced_feeds_the_complaints_record(quality: Quality) -> None:
    from cases.store.models import FieldFailure

    reference = await quality.open_case("现场异响")
    await quality.api.step("gm", reference, "approve", department="quality")
    plan = {"engineers": "王工", "start": "2026-10-09T09:00+08:00", "location": "总装二厂", "task": "现场排查"}
    planned = await quality.api.call("sales", "POST", f"/cases/{reference}/service-reports", plan, expect=201)
    report = {
        "work_done": "更换摩擦片",
        "findings": "倒角不足",
        "parts_replaced": "零件号 3501-00999 × 10",
        "result": "复测无异响",
        "minutes_spent": 120,
        "failure_mode": "NOISE",
    }
    await quality.api.call("qe", "POST", f"/cases/{reference}/service-reports/{planned['id']}/report", report)
    async with quality.kefu.db.reader() as s:
        rows = (
            await s.execute(select(FieldFailure.source_kind, FieldFailure.part_number, FieldFailure.failure_mode))
        ).all()
    assert [tuple(r) for r in rows] == [("service_report", "3501-00999", "NOISE")]
