"""Agreed deadlines (procedure 6.1.1, 6.2.8) on the working-day calendar: counted over the
National Day holiday of 2026 and its make-up working day from `chinesecalendar`, over the
editable table for a year the library does not know; each warning and escalation once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from cases.domain.errors import InvalidInput
from cases.quality.agreements import Step, parse_terms
from cases.quality.calendar import DayKind, WorkingCalendar, library_says
from cases.store.models import CaseHistory, DueStep
from tests.quality_helpers import Quality, quality  # noqa: F401  (the fixture)

SHANGHAI = ZoneInfo("Asia/Shanghai")
FAR_YEAR = 2090  # a year no release of the library knows


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def test_the_library_knows_national_day_2026_and_its_make_up_day() -> None:
    assert [library_says(date(2026, 10, d)) for d in range(1, 8)] == [False] * 7
    assert library_says(date(2026, 10, 10)) is True  # Saturday, worked (调休)
    assert library_says(date(FAR_YEAR, 10, 2)) is None


def test_working_days_skip_the_holiday_and_count_the_make_up_saturday() -> None:
    cal = WorkingCalendar({})
    # From Wednesday 30 September: 8, 9, 10 (Saturday, worked), 12, 13 October.
    assert cal.add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert cal.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)
    notice = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)
    assert cal.end_of_working_days(notice, 5, SHANGHAI) == local("2026-10-13T23:59:59")


def test_the_table_wins_over_the_library() -> None:
    cal = WorkingCalendar({date(2026, 10, 8): DayKind.SHUTDOWN, date(2026, 10, 11): DayKind.WORKDAY})
    # 8 October shut, Sunday 11 worked: 9, 10, 11, 12, 13.
    assert cal.add_working_days(date(2026, 9, 30), 5) == date(2026, 10, 13)
    assert cal.add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 9)


def test_a_year_the_library_does_not_know_is_monday_to_friday_and_the_table() -> None:
    assert WorkingCalendar({}).add_working_days(date(FAR_YEAR, 9, 29), 5) == date(FAR_YEAR, 10, 6)
    table = {date(FAR_YEAR, 10, d): DayKind.HOLIDAY for d in range(2, 7)}
    table[date(FAR_YEAR, 9, 30)] = DayKind.WORKDAY  # a Saturday made up
    table[date(FAR_YEAR, 10, 9)] = DayKind.SHUTDOWN
    # Friday 29 September: 30 (Sat, worked), 10, 11, 12, 13 October.
    assert WorkingCalendar(table).add_working_days(date(FAR_YEAR, 9, 29), 5) == date(FAR_YEAR, 10, 13)


@pytest.mark.parametrize("text", ["root_cause=5", "closure=0d", "nothing=3d", "first_answer=9999h", "x"])
def test_bad_default_terms_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_terms(text)


async def test_steps_are_counted_from_the_notice_over_national_day(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("转向器漏油")
    assert await api.step("gm", reference, "approve", department="quality") == "assigned"
    steps = {s["step"]: s for s in (await api.call("qe", "GET", f"/cases/{reference}"))["due_steps"]}
    assert steps["first_answer"]["status"] == "done"  # the approval answered the customer
    assert steps["containment"]["due_at"] == "2026-10-01T02:00:00Z"  # 24 h, holiday or not
    assert steps["root_cause"]["due_at"] == "2026-10-13T15:59:59Z"  # 5 working days: to 13 October
    assert steps["closure"]["due_at"] == "2026-10-30T02:00:00Z"  # 30 days
    assert {s["source"] for s in steps.values()} == {"default"}


async def test_a_customers_agreement_wins_over_the_defaults(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("刹车片异响")
    customer_id = (await api.call("gm", "GET", f"/cases/{reference}"))["customer_id"]
    terms = [{"step": "root_cause", "amount": 3, "unit": "wd"}, {"step": "closure", "amount": 20, "unit": "wd"}]
    await api.error("qe", "PUT", f"/customers/{customer_id}/agreement", {"terms": terms}, expect=403)
    agreed = await api.call("sales", "PUT", f"/customers/{customer_id}/agreement", {"terms": terms})
    assert {(t["step"], t["source"]) for t in agreed["terms"]} == {
        ("first_answer", "default"),
        ("containment", "default"),
        ("root_cause", "agreement"),
        ("closure", "agreement"),
    }
    await api.step("gm", reference, "approve", department="quality")
    steps = {s["step"]: s for s in (await api.call("qe", "GET", f"/cases/{reference}"))["due_steps"]}
    assert steps["root_cause"]["due_at"] == "2026-10-10T15:59:59Z"  # 8, 9, 10 (the Saturday worked)
    # 20 working days from 30 September: 8-9, 10, 12-16, 19-23, 26-30 October (18), 2 and 3 November.
    assert steps["closure"]["due_at"] == "2026-11-03T15:59:59Z"
    assert steps["root_cause"]["source"] == "agreement"


async def test_the_customers_own_deadline_wins_over_the_agreed_closure(quality: Quality) -> None:
    api = quality.api
    reference = await quality.open_case("异响")
    await api.step("gm", reference, "approve", department="quality", deadline="2026-10-20")
    steps = {s["step"]: s for s in (await api.call("qe", "GET", f"/cases/{reference}"))["due_steps"]}
    assert (steps["closure"]["due_at"], steps["closure"]["source"]) == ("2026-10-20T15:59:59Z", "customer")
    await api.step("sales", reference, "deadline", deadline="2026-10-25")
    steps = {s["step"]: s for s in (await api.call("qe", "GET", f"/cases/{reference}"))["due_steps"]}
    assert steps["closure"]["due_at"] == "2026-10-25T15:59:59Z"


async def test_each_step_warns_once_and_escalates_once(quality: Quality) -> None:
    api, clock, service = quality.api, quality.clock, quality.kefu.service
    reference = await quality.open_case("密封圈漏油")
    await api.step("gm", reference, "approve", department="quality")
    assert await service.run_due_step_timers() == (0, 0)
    clock.advance(hours=21)  # containment due at 24 h, warned 4 h before
    assert await service.run_due_step_timers() == (1, 0)
    assert await service.run_due_step_timers() == (0, 0)
    clock.advance(hours=4)
    assert await service.run_due_step_timers() == (0, 1)
    assert await service.run_due_step_timers() == (0, 0)
    overdue = await api.call("qe", "GET", "/deadlines/overdue")
    assert [(i["reference"], i["step"]) for i in overdue["items"]] == [(reference, "containment")]
    await api.error("prod", "GET", f"/cases/{reference}", expect=404)
    assert (await api.call("prod", "GET", "/deadlines/overdue"))["total"] == 0  # another department's
    # Root cause: due at the end of 13 October; the timer sleeps over the holiday.
    clock.now = local("2026-10-13T20:00:00")
    assert await service.run_due_step_timers() == (1, 0)
    clock.now = local("2026-10-14T00:00:01")
    assert await service.run_due_step_timers() == (0, 1)
    assert await service.run_due_step_timers() == (0, 0)

    near = await quality.deliveries("due_step_near")
    passed = await quality.deliveries("due_step_passed")
    assert sorted({d.recipient for d in near}) == ["qe@supplier.example", "sales@supplier.example"]
    assert len(near) == 4 and len(passed) == 6  # two steps; passed also to the approver (gm)
    assert "gm@supplier.example" in {d.recipient for d in passed}
    (mail,) = quality.mails_to("gm@supplier.example", "临时遏制措施")  # staff read Chinese by default
    assert reference in str(mail["Subject"]) and "已超过约定期限" in str(mail["Subject"])
    body = mail.get_body()
    assert body is not None and "2026-10-01 10:00" in body.get_content() and "逾期" in body.get_content()
    async with quality.kefu.db.reader() as s:
        actions = list((await s.execute(select(CaseHistory.action).order_by(CaseHistory.id))).scalars())
    assert actions.count("due_step_near") == 2 and actions.count("due_step_passed") == 2


async def test_a_step_done_is_no_longer_chased(quality: Quality) -> None:
    api, clock, service = quality.api, quality.clock, quality.kefu.service
    reference = await quality.open_case("异响")
    await api.step("gm", reference, "approve", department="quality")
    await api.error("prod", "POST", f"/cases/{reference}/due-steps/containment/done", expect=404)
    await api.call("qe", "POST", f"/cases/{reference}/due-steps/containment/done")
    await api.error("qe", "POST", f"/cases/{reference}/due-steps/containment/done", expect=422)
    await api.step("qe", reference, "analysis", analysis="密封圈装配错位")  # root cause done too
    clock.advance(days=20)
    assert await service.run_due_step_timers() == (0, 0)
    steps = {s["step"]: s["status"] for s in (await api.call("qe", "GET", f"/cases/{reference}"))["due_steps"]}
    assert steps == {"first_answer": "done", "containment": "done", "root_cause": "done", "closure": "open"}


async def test_a_new_case_is_planned_by_the_timer_and_its_first_answer_watched(quality: Quality) -> None:
    reference = await quality.open_case("说明书")
    quality.clock.advance(hours=21)
    assert await quality.kefu.service.run_due_step_timers() == (2, 0)  # first answer and containment
    steps = {s["step"]: s for s in (await quality.api.call("gm", "GET", f"/cases/{reference}"))["due_steps"]}
    assert steps["first_answer"]["warned_at"] is not None and steps["first_answer"]["status"] == "open"
    near = await quality.deliveries("due_step_near")
    assert "gm@supplier.example" in {d.recipient for d in near}  # no department yet: the approvers


async def test_cases_approved_before_the_upgrade_send_no_burst_of_escalations(quality: Quality) -> None:
    """A case approved before the agreed steps existed has none; the timer plans them, and the
    steps already past show overdue without a notice (an upgrade must not mail every approver
    about every old case), while a step still ahead is warned and escalated as usual."""
    api, clock, service = quality.api, quality.clock, quality.kefu.service
    reference = await quality.open_case("旧案: 转向节裂纹")
    await api.step("gm", reference, "approve", department="quality")
    async with quality.kefu.db.unit_of_work() as s:  # as the database was before the upgrade
        await s.execute(delete(DueStep))
    clock.advance(days=3)  # first answer and containment passed long ago; root cause not yet
    assert await service.run_due_step_timers() == (0, 0)
    steps = {s["step"]: s for s in (await api.call("qe", "GET", f"/cases/{reference}"))["due_steps"]}
    assert set(steps) == {"first_answer", "containment", "root_cause", "closure"}
    assert steps["containment"]["status"] == "overdue"
    assert await quality.deliveries("due_step_passed") == []
    clock.now = local("2026-10-14T00:00:01")  # the root cause step passes after the upgrade
    assert await service.run_due_step_timers() == (0, 1)
    assert {d.recipient for d in await quality.deliveries("due_step_passed")} >= {"gm@supplier.example"}


async def test_a_year_the_library_does_not_know_counts_on_the_table(quality: Quality) -> None:
    api = quality.api
    await api.error("qe", "PUT", f"/calendar/days/{FAR_YEAR}-10-02", {"kind": "holiday"}, expect=403)
    for day in range(2, 7):
        await api.call("gm", "PUT", f"/calendar/days/{FAR_YEAR}-10-{day:02d}", {"kind": "holiday", "note": "国庆节"})
    await api.call("gm", "PUT", f"/calendar/days/{FAR_YEAR}-09-30", {"kind": "workday", "note": "调休"})
    await api.call("admin", "PUT", f"/calendar/days/{FAR_YEAR}-10-09", {"kind": "shutdown", "note": "停产检修"})
    await api.error("gm", "PUT", f"/calendar/days/{FAR_YEAR}-02-30", {"kind": "holiday"}, expect=422)
    year = await api.call("qe", "GET", f"/calendar/{FAR_YEAR}")
    assert not year["library_knows_year"] and len(year["entries"]) == 7 and year["library_days"] == []
    assert (await api.call("qe", "GET", "/calendar/2026"))["library_knows_year"]

    quality.clock.now = local(f"{FAR_YEAR}-09-29T09:00:00")  # a Friday
    reference = await quality.open_case("异响")
    await api.step("gm", reference, "approve", department="quality")
    steps = {s["step"]: s for s in (await api.call("qe", "GET", f"/cases/{reference}"))["due_steps"]}
    assert steps["root_cause"]["due_at"] == f"{FAR_YEAR}-10-13T15:59:59Z"
    assert (await api.call("admin", "DELETE", f"/calendar/days/{FAR_YEAR}-10-09"))["deleted"] is True
    await api.error("admin", "DELETE", f"/calendar/days/{FAR_YEAR}-10-09", expect=404)


def test_warning_lead_is_never_more_than_half_the_span() -> None:
    span = timedelta(hours=2)
    assert min(timedelta(hours=4), span / 2) == timedelta(hours=1)
    assert Step.CLOSURE.value == "closure"
