"""The reminder that a quarter's marketing summary report (营销总结报告 DFCPXS009A, procedure
6.5.4) is due and not issued: Sales hear of it once, KEFU_REPORT_REMINDER_DAYS after the quarter
ends, by email in each person's language and in their bound staff chats; on a frozen clock, on
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cases.domain.actors import Actor
from cases.domain.clock import FrozenClock
from cases.domain.enums import Role
from cases.domain.events import EventKind
from cases.reports import issued
from cases.reports.kinds import ReportKind
from cases.reports.period import parse_period
from cases.reports.reminders import ReportReminders, due_report
from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import Delivery, OutboxEvent, ReportReminder
from kefu.bootstrap import Kefu, bootstrap
from kefu.parts import Part, start
from notifications.routing import CASELESS, ROUTES, To
from tests.conftest import ListTransport
from tests.databases import migrated
from tests.fake_botapi import FakeBotApi
from tests.telegram_helpers import Updates, eventually, run_kefu, telegram_settings
from tests.test_telegram_customer import botapi  # noqa: F401  (the fixture)
from tests.test_telegram_staff import bind_staff

# Q3 2026 ends on 30 September (Shanghai); ten days later, on 11 October, its report is due.
EVE = datetime.fromisoformat("2026-10-10T23:59:00+08:00")
DUE = datetime.fromisoformat("2026-10-11T00:00:00+08:00")
SALES = Actor("sales.li", frozenset({Role.SALES}))


@dataclass
class World:
    settings: Settings
    kefu: Kefu
    clock: FrozenClock
    mail: ListTransport

    def mails(self) -> list[tuple[str, EmailMessage]]:
        out: list[tuple[str, EmailMessage]] = []
        for caught in self.mail.sent:
            msg = email.message_from_bytes(caught.data, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            out.extend((r, msg) for r in caught.recipients)
        return out


def _build(settings: Settings, clock: FrozenClock, mail: ListTransport) -> Kefu:
    return bootstrap(replace(settings, report_reminder_days=10), clock=clock, transport=mail, poll_seconds=0.2)


async def _issue(kefu: Kefu, quarter: str, now: datetime) -> None:
    """An issued revision of a quarter's marketing report, stored as `kefu report --issue` stores it."""
    period = parse_period(quarter, kefu.settings.tz)
    async with kefu.db.unit_of_work() as s:
        revision, number = await issued.next_record_number(s, ReportKind.MARKETING, period)
        await issued.issue(
            s,
            SALES,
            ReportKind.MARKETING,
            period,
            revision,
            number,
            {"kind": "marketing", "period": quarter},
            issued.Documents(html="<p>issued</p>", xlsx=b"PK", pdf=None),
            "王总",
            "zh",
            now,
        )


@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[World]:
    """kefu on the eve of Q3's due day, with two Sales users (Chinese, English), one person of
    Quality (who is not reminded), and Q2's report issued (else a fresh database is reminded
    of Q2, which is indeed due)."""
    await migrated(settings.sqlalchemy_url)
    clock, mail = FrozenClock(EVE), ListTransport()
    kefu = _build(settings, clock, mail)
    await seed_departments(kefu.db)
    await kefu.users.add("li", roles=["sales"], department="sales", email="li@supplier.example")
    await kefu.users.add("amy", roles=["sales"], department="sales", email="amy@supplier.example", language="en")
    await kefu.users.add("qe", roles=["quality"], department="quality", email="qe@supplier.example")
    await _issue(kefu, "2026Q2", datetime.fromisoformat("2026-07-05T10:00:00+08:00"))
    try:
        yield World(settings, kefu, clock, mail)
    finally:
        await kefu.db.dispose()


async def _counts(kefu: Kefu) -> tuple[int, int, int]:
    """(report_due events, their deliveries, reminder rows)."""
    async with kefu.db.reader() as s:
        events = await s.scalar(select(func.count()).where(OutboxEvent.kind == "report_due"))
        deliveries = await s.scalar(select(func.count()).where(Delivery.template == "report_due"))
        reminders = await s.scalar(select(func.count()).select_from(ReportReminder))
    return int(events or 0), int(deliveries or 0), int(reminders or 0)


def test_the_report_is_due_the_set_number_of_days_after_its_quarter_ends() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    due = due_report(date(2026, 10, 11), tz, 10)
    assert due is not None and (due.period.key, due.due_on) == ("2026Q3", date(2026, 10, 11))
    before = due_report(date(2026, 10, 10), tz, 10)
    assert before is not None and before.period.key == "2026Q2"  # the quarter before is the one due then
    later = due_report(date(2027, 1, 10), tz, 10)
    assert later is not None and later.period.key == "2026Q3"  # Q4's not yet
    assert due_report(date(2026, 10, 11), tz, 0) is None  # 0 turns it off
    long = due_report(date(2026, 10, 11), tz, 100)  # longer than a quarter: still the right one
    assert long is not None and (long.period.key, long.due_on) == ("2026Q2", date(2026, 10, 9))


def test_the_reminder_is_routed_only_to_audiences_that_need_no_case() -> None:
    notices = ROUTES[EventKind.REPORT_DUE]
    assert [(n.to, n.template) for n in notices] == [(To.SALES, "report_due")]
    assert all(n.to in CASELESS for n in notices)
    assert To.CUSTOMER not in CASELESS and To.DEPARTMENT not in CASELESS


async def test_the_reminder_goes_once_to_each_sales_user_on_its_day_in_their_language(world: World) -> None:
    kefu, clock = world.kefu, world.clock
    assert await kefu.report_reminders.run_round() is False  # the eve: not due yet
    await kefu.dispatcher.run_once()
    assert await _counts(kefu) == (0, 0, 0) and world.mails() == []

    clock.now = DUE
    assert await kefu.report_reminders.run_round() is True
    await kefu.dispatcher.run_once()
    mails = world.mails()
    assert sorted(r for r, _ in mails) == ["amy@supplier.example", "li@supplier.example"]  # not Quality
    zh = next(m for r, m in mails if r == "li@supplier.example")
    en = next(m for r, m in mails if r == "amy@supplier.example")
    assert "营销总结报告" in str(zh["Subject"]) and "2026Q3" in str(zh["Subject"])
    zh_body = zh.get_content()
    for part in (
        "2026-07-01 至 2026-09-30",
        "自 2026-10-11 起到期",
        "kefu report quarterly --quarter 2026Q3",
        "/reports",
    ):
        assert part in zh_body, part
    assert "Marketing summary report" in str(en["Subject"]) and "2026Q3" in str(en["Subject"])
    en_body = en.get_content()
    for part in ("due since 2026-10-11", "kefu report quarterly --quarter 2026Q3", "/reports", "DFCPXS009A"):
        assert part in en_body, part
    for msg in (zh, en):
        # No case: no case facts, no case token in the Message-ID, no reply token.
        assert "FB-" not in msg.get_content() and "反馈编号" not in msg.get_content()
        assert str(msg["Message-ID"]).startswith("<kefu.notice.report-due.")
        assert msg["Reply-To"] is None
        assert kefu.signer.reference_from_message_id(str(msg["Message-ID"]).strip("<>")) is None
    async with kefu.db.reader() as s:
        sent = (
            await s.execute(select(Delivery.status, Delivery.case_id).where(Delivery.template == "report_due"))
        ).all()
    assert sent == [("sent", None), ("sent", None)]

    # A second scan, later that day and a month later: nothing more.
    clock.advance(hours=5)
    assert await kefu.report_reminders.run_round() is False
    clock.now = datetime.fromisoformat("2026-11-20T09:00:00+08:00")
    assert await kefu.report_reminders.run_round() is False
    await kefu.dispatcher.run_once()
    assert await _counts(kefu) == (1, 2, 1) and len(world.mails()) == 2

    # A restart: a new kefu on the same database remembers the reminder.
    await kefu.db.dispose()
    again = _build(world.settings, clock, world.mail)
    try:
        assert await again.report_reminders.run_round() is False
        await again.dispatcher.run_once()
        assert await _counts(again) == (1, 2, 1) and len(world.mails()) == 2
    finally:
        await again.db.dispose()


# One instance's round in a process of its own: instances are processes (on SQLite they meet
# at the database file's write lock, which one process's event loop cannot stand in for).
_ONE_ROUND = """
import asyncio, sys
from datetime import datetime
from zoneinfo import ZoneInfo
from cases.domain.clock import FrozenClock
from cases.reports.reminders import ReportReminders
from cases.store.db import Database, make_engine

async def main() -> None:
    db = Database(make_engine(sys.argv[1]))
    clock = FrozenClock(datetime.fromisoformat(sys.argv[2]))
    print(await ReportReminders(db, clock, ZoneInfo("Asia/Shanghai"), 10).run_round())
    await db.dispose()

asyncio.run(main())
"""


async def test_instances_scanning_at_the_same_moment_remind_once(world: World) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _ONE_ROUND,
            world.settings.sqlalchemy_url,
            DUE.isoformat(),
            cwd=root,
            env={**os.environ, "PYTHONPATH": root},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outputs = [await p.communicate() for p in processes]
    assert all(p.returncode == 0 for p in processes), [err.decode()[-2000:] for _, err in outputs]
    assert sorted(out.decode().strip() for out, _ in outputs) == ["False", "False", "True"]
    await world.kefu.dispatcher.run_once()
    assert await _counts(world.kefu) == (1, 2, 1) and len(world.mails()) == 2


async def test_an_issued_report_for_the_quarter_means_no_reminder(world: World) -> None:
    await _issue(world.kefu, "2026Q3", EVE)
    world.clock.now = DUE
    assert await world.kefu.report_reminders.run_round() is False
    await world.kefu.dispatcher.run_once()
    assert await _counts(world.kefu) == (0, 0, 0) and world.mails() == []


async def test_zero_days_turns_the_reminder_off(world: World) -> None:
    world.clock.now = DUE
    off = ReportReminders(world.kefu.db, world.clock, world.kefu.settings.tz, 0)
    assert await off.run_round() is False
    assert await _counts(world.kefu) == (0, 0, 0)


async def test_a_sales_users_staff_chat_gets_the_reminder_too(
    settings: Settings,
    botapi: FakeBotApi,
) -> None:
    """Through the running workers' dispatcher and the bot's real sender, against the fake Bot
    API. The workers' own reminder is off here (it runs on the wall clock); the test runs a round
    on its frozen clock and wakes the dispatcher, as the workers' round does."""
    run = await run_kefu(telegram_settings(settings, botapi))
    try:
        await bind_staff(run, botapi, Updates(), "li", 7301, ["sales"], "sales")
        await bind_staff(run, botapi, Updates(6000), "qe", 7302, ["quality"], "quality")
        await _issue(run.kefu, "2026Q2", EVE)
        reminders = ReportReminders(
            run.kefu.db, FrozenClock(DUE), run.kefu.settings.tz, 10, on_commit=run.kefu.dispatcher.wake
        )
        assert await reminders.run_round() is True
        texts = await botapi.wait_text(7301, "营销总结报告")
        assert any("kefu report quarterly --quarter 2026Q3" in t for t in texts)
        assert all("FB-" not in t and "您好" not in t for t in texts)  # the short frame, no case
        await asyncio.sleep(0.5)
        assert not any("营销总结报告" in t for t in botapi.texts(7302))  # Quality is not reminded

        async def mailed() -> int:  # and the email too, once
            return sum(
                "li@supplier.example" in m.recipients
                and "2026Q3" in str(email.message_from_bytes(m.data, policy=email.policy.default)["Subject"])
                for m in run.mail.sent
            )

        assert await eventually(mailed, lambda n: n >= 1) == 1
    finally:
        await run.stop()


async def test_the_workers_run_the_reminder_when_kefu_starts(world: World) -> None:
    """`kefu serve` (part `workers`) runs a round at once and then every hour; its notice goes
    out through the dispatcher the round wakes."""
    world.clock.now = DUE
    started = await start(world.kefu, [Part.WORKERS])
    try:

        async def mailed() -> list[str]:
            return sorted(r for r, _ in world.mails())

        assert await eventually(mailed, lambda found: len(found) >= 2) == [
            "amy@supplier.example",
            "li@supplier.example",
        ]
    finally:
        await started.stop()
    assert await _counts(world.kefu) == (1, 2, 1)
