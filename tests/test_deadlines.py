"""The customer's deadline (procedure 6.2.8): recorded by the people who agree it, through the
API; the timer tells the department and Sales once when it is near and once more, with the
approvers, when it has passed, by email and on their bound Telegram chats."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.clock import FrozenClock
from cases.domain.enums import Channel, Language, Role
from cases.domain.errors import InvalidInput
from cases.domain.intake_message import IntakeMessage
from cases.services.deadlines import parse_deadline
from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import Case, CaseHistory, Delivery, TelegramStaffChat, User
from kefu.bootstrap import Kefu, bootstrap
from tests.apihelpers import Api, api_fixture, open_case  # noqa: F401  (the api fixture)
from tests.conftest import ListTransport
from tests.databases import migrated

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_a_date_is_the_end_of_that_day_where_the_staff_are() -> None:
    assert parse_deadline("2026-12-15", SHANGHAI, NOW) == datetime(2026, 12, 15, 15, 59, 59, tzinfo=UTC)
    assert parse_deadline("2026-12-15T17:00", SHANGHAI, NOW) == datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
    assert parse_deadline("2026-12-15T17:00Z", SHANGHAI, NOW) == datetime(2026, 12, 15, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value, message", [("2026-11-30", "already passed"), ("next friday", "must be a date"), ("", "must be a date")]
)
def test_a_past_or_unreadable_deadline_is_refused(value: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_deadline(value, SHANGHAI, NOW)


async def test_sales_record_the_deadline_and_others_may_not(api: Api) -> None:
    reference = await open_case(api.kefu, "密封圈漏油")
    refused = await api.error("admin", "POST", f"/cases/{reference}/deadline", {"deadline": "2099-01-31"}, expect=403)
    assert "approver or quality or sales" in refused["message"]
    await api.error(
        "prod", "POST", f"/cases/{reference}/deadline", {"deadline": "2099-01-31"}, expect=404
    )  # not theirs
    assert await api.step("sales", reference, "deadline", deadline="2099-01-31", note="客户要求月底前提交8D") == "new"
    case = await api.call("sales", "GET", f"/cases/{reference}")
    assert case["customer_deadline"] == "2099-01-31T15:59:59Z"
    entry = next(h for h in case["history"] if h["action"] == "set_deadline")
    assert entry["actor"] == "sales" and entry["note"] == "客户要求月底前提交8D"
    bad = await api.error("sales", "POST", f"/cases/{reference}/deadline", {"deadline": "soon"}, expect=422)
    assert "must be a date" in bad["message"]


async def test_approval_can_set_the_deadline_in_the_same_step(api: Api) -> None:
    reference = await open_case(api.kefu, "转向器异响")
    assert (
        await api.step("gm", reference, "approve", department="quality", deadline="2099-03-01T12:00+08:00")
        == "assigned"
    )
    assert (await api.call("gm", "GET", f"/cases/{reference}"))["customer_deadline"] == "2099-03-01T04:00:00Z"


@pytest.fixture
async def timed(settings: Settings) -> AsyncIterator[tuple[Kefu, FrozenClock]]:
    await migrated(settings.sqlalchemy_url)
    clock = FrozenClock(NOW)
    kefu = bootstrap(settings, clock=clock, transport=ListTransport(), poll_seconds=0.2)
    await seed_departments(kefu.db)
    for name, roles, dept in [
        ("gm", ["approver"], None),
        ("qe", ["quality", "department"], "quality"),
        ("sales", ["sales"], "sales"),
    ]:
        await kefu.users.add(name, roles=roles, department=dept, email=f"{name}@supplier.example")
    try:
        yield kefu, clock
    finally:
        await kefu.db.dispose()


async def test_the_department_hears_once_when_near_and_the_approvers_too_when_passed(
    timed: tuple[Kefu, FrozenClock],
) -> None:
    kefu, clock = timed
    async with kefu.db.unit_of_work() as s:
        qe = (await s.execute(select(User).where(User.username == "qe"))).scalar_one()
        s.add(TelegramStaffChat(chat_id=424242, user_id=qe.id, created_at=clock()))
        outcome = await kefu.service.receive(
            s,
            IntakeMessage(
                channel=Channel.EMAIL,
                source_id=uuid.uuid4().hex,
                sender_identity="li.na@chery-parts.cn",
                sender_name="李娜",
                subject="转向器漏油",
                text="三台车漏油。",
                new_text="三台车漏油。",
                received_at=clock(),
                language=Language.ZH,
                message_id=f"{uuid.uuid4().hex}@chery-parts.cn",
            ),
        )
    reference = outcome.reference
    gm = Actor("gm", frozenset({Role.APPROVER}))
    await kefu.service.approve(gm, reference, "quality", deadline="2026-12-05T10:00+08:00")  # 02:00 UTC

    assert await kefu.service.run_deadline_timers() == (0, 0)  # four days ahead
    clock.advance(days=2, hours=1)  # 47 hours left: within the 48-hour warning
    assert await kefu.service.run_deadline_timers() == (1, 0)
    assert await kefu.service.run_deadline_timers() == (0, 0)  # once
    clock.advance(days=2)
    assert await kefu.service.run_deadline_timers() == (0, 1)
    assert await kefu.service.run_deadline_timers() == (0, 0)
    await kefu.dispatcher.run_once()

    async with kefu.db.reader() as s:
        rows = [
            (d.template, d.channel, d.recipient)
            for d in (
                await s.execute(select(Delivery).where(Delivery.template.like("deadline_%")).order_by(Delivery.id))
            ).scalars()
        ]
        actions = list(
            (
                await s.execute(
                    select(CaseHistory.action)
                    .join(Case, Case.id == CaseHistory.case_id)
                    .where(Case.reference == reference)
                )
            ).scalars()
        )
    near = {(c, r) for t, c, r in rows if t == "deadline_near"}
    passed = {(c, r) for t, c, r in rows if t == "deadline_passed"}
    assert near == {("email", "qe@supplier.example"), ("email", "sales@supplier.example"), ("telegram", "424242")}
    assert ("email", "gm@supplier.example") in passed and ("email", "qe@supplier.example") in passed
    assert actions.count("deadline_near") == 1 and actions.count("deadline_passed") == 1


async def test_an_answered_case_is_not_chased(timed: tuple[Kefu, FrozenClock]) -> None:
    kefu, clock = timed
    async with kefu.db.unit_of_work() as s:
        outcome = await kefu.service.receive(
            s,
            IntakeMessage(
                channel=Channel.EMAIL,
                source_id=uuid.uuid4().hex,
                sender_identity="li.na@chery-parts.cn",
                sender_name="李娜",
                subject="说明书",
                text="请寄安装说明书。",
                new_text="请寄安装说明书。",
                received_at=clock(),
                language=Language.ZH,
                message_id=f"{uuid.uuid4().hex}@chery-parts.cn",
            ),
        )
    reference = outcome.reference
    qe, sales = Actor("qe", frozenset({Role.QUALITY})), Actor("sales", frozenset({Role.SALES}))
    await kefu.service.approve(Actor("gm", frozenset({Role.APPROVER})), reference, "quality", deadline="2026-12-03")
    for step, text in [
        (kefu.service.record_analysis, "缺页"),
        (kefu.service.record_measures, "补寄"),
        (kefu.service.verify, "已寄出"),
    ]:
        await step(qe, reference, text)
    await kefu.service.reply(sales, reference, "说明书已寄出。")
    clock.advance(days=5)
    assert await kefu.service.run_deadline_timers() == (0, 0)
