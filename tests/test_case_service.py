"""The case service on a real database: the transition table, the append-only history, the
satisfaction timers on an injected clock, and subject tags from strangers (Zammad #5064)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from cases.domain.actors import Actor
from cases.domain.clock import FrozenClock
from cases.domain.enums import CaseState, Channel, Language, Role
from cases.domain.errors import Forbidden, IllegalTransition
from cases.domain.intake_message import IntakeMessage, ThreadHints
from cases.domain.states import TRANSITIONS, Action, allowed_actions, check
from cases.domain.vocabulary import VOCABULARY
from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import Case, CaseHistory, CaseMessage, CaseRating, Delivery
from kefu.bootstrap import Kefu, bootstrap
from tests.conftest import ListTransport
from tests.databases import migrated

GM = Actor("gm", frozenset({Role.APPROVER}), user_id=None)
QE = Actor("qe", frozenset({Role.QUALITY}))
SALES = Actor("sales", frozenset({Role.SALES}))


# -- the table, without a database ---------------------------------------------------------
def test_every_state_but_the_terminal_ones_has_a_way_forward() -> None:
    sources = {s for t in TRANSITIONS.values() for s in t.sources}
    assert sources == set(CaseState) - {CaseState.NO_ACTION}  # closed cases can still reopen


@pytest.mark.parametrize("action", list(Action))
def test_no_step_is_allowed_from_a_state_outside_its_sources(action: Action) -> None:
    transition = TRANSITIONS[action]
    actor = Actor("anyone", frozenset(transition.roles))
    for state in set(CaseState) - transition.sources:
        with pytest.raises(IllegalTransition):
            check(action, state, actor, None)


def test_every_step_has_a_chinese_and_english_name_and_a_refusal_says_it() -> None:
    assert set(VOCABULARY["action"]) == {a.value for a in Action}
    actor = Actor("sales", frozenset({Role.SALES}))
    with pytest.raises(IllegalTransition) as refused:
        check(Action.APPROVE, CaseState.CLOSED, actor, None)
    assert "“批准并分派”" in refused.value.text("zh") and "approve" in refused.value.text("en")


def test_a_department_member_acts_only_on_their_own_departments_case() -> None:
    member = Actor("prod", frozenset({Role.DEPARTMENT}), department_id=3)
    check(Action.RECORD_ANALYSIS, CaseState.ASSIGNED, member, 3)
    with pytest.raises(Forbidden, match="another department"):
        check(Action.RECORD_ANALYSIS, CaseState.ASSIGNED, member, 4)


def test_people_never_hold_the_customers_and_timers_steps() -> None:
    everyone = Actor("root", frozenset(set(Role) - {Role.SYSTEM}))
    offered = {a for s in CaseState for a in allowed_actions(s, everyone, None)}
    assert not offered & {Action.RATE, Action.REOPEN, Action.REMIND, Action.CLOSE_NO_RESPONSE}


# -- on the database -------------------------------------------------------------------------
@pytest.fixture
async def world(settings: Settings) -> AsyncIterator[tuple[Kefu, FrozenClock, ListTransport]]:
    await migrated(settings.sqlalchemy_url)
    clock = FrozenClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    transport = ListTransport()
    kefu = bootstrap(settings, clock=clock, transport=transport, poll_seconds=0.2)
    await seed_departments(kefu.db)
    try:
        yield kefu, clock, transport
    finally:
        await kefu.db.dispose()


async def _mail(kefu: Kefu, sender: str, subject: str, body: str, *, tag: str | None = None) -> tuple[str, bool]:
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=uuid.uuid4().hex,
        sender_identity=sender,
        sender_name=sender,
        subject=subject,
        text=body,
        new_text=body,
        received_at=kefu.clock(),
        language=Language.ZH,
        message_id=f"{uuid.uuid4().hex}@customer.example",
        hints=ThreadHints(subject_reference=tag),
    )
    async with kefu.db.unit_of_work() as s:
        outcome = await kefu.service.receive(s, msg)
    return outcome.reference, outcome.opened


async def _to_awaiting_satisfaction(kefu: Kefu) -> str:
    reference, _ = await _mail(kefu, "li.na@chery-parts.cn", "转向器漏油", "三台车漏油。")
    await kefu.service.approve(GM, reference, "quality")
    await kefu.service.record_analysis(QE, reference, "密封圈批次不良")
    await kefu.service.record_measures(QE, reference, "更换密封圈供应商")
    await kefu.service.verify(QE, reference, "复测合格")
    await kefu.service.reply(SALES, reference, "问题已解决，请确认。")
    return reference


async def test_the_history_refuses_update_and_delete(world: tuple[Kefu, FrozenClock, ListTransport]) -> None:
    kefu, _, _ = world
    await _mail(kefu, "li.na@chery-parts.cn", "转向器漏油", "三台车漏油。")
    for sql in ("UPDATE case_history SET note = 'rewritten'", "DELETE FROM case_history"):
        with pytest.raises(Exception, match=r"(?i)append-only|append only|not allowed|refuse"):
            async with kefu.db.unit_of_work() as s:
                await s.execute(text(sql))
    async with kefu.db.reader() as s:
        assert [h.note for h in (await s.execute(select(CaseHistory))).scalars()] == [""]


async def test_no_answer_brings_one_reminder_then_closes_as_no_response(
    world: tuple[Kefu, FrozenClock, ListTransport],
) -> None:
    kefu, clock, _ = world
    reference = await _to_awaiting_satisfaction(kefu)
    clock.advance(days=6)
    assert await kefu.service.run_satisfaction_timers() == (0, 0)
    clock.advance(days=1, minutes=1)
    assert await kefu.service.run_satisfaction_timers() == (1, 0)
    assert await kefu.service.run_satisfaction_timers() == (0, 0)  # one reminder, not one a round
    clock.advance(days=7, minutes=1)
    assert await kefu.service.run_satisfaction_timers() == (0, 1)
    await kefu.dispatcher.run_once()
    async with kefu.db.reader() as s:
        case = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
        templates = [
            d.template
            for d in (
                await s.execute(select(Delivery).where(Delivery.audience == "customer").order_by(Delivery.id))
            ).scalars()
        ]
    assert case.state == CaseState.CLOSED and case.rating == "no_response"
    assert templates.count("satisfaction_reminder") == 1
    async with kefu.db.reader() as s:
        kept = (await s.execute(select(CaseRating.rating, CaseRating.score, CaseRating.source))).all()
    assert [tuple(r) for r in kept] == [("no_response", None, "timer")]  # in the history, not in averages


async def test_a_subject_tag_from_another_customer_opens_a_new_linked_case(
    world: tuple[Kefu, FrozenClock, ListTransport],
) -> None:
    kefu, _, _ = world
    original, _ = await _mail(kefu, "li.na@chery-parts.cn", "转向器漏油", "三台车漏油。")
    # The unassigned pool is not one customer: a stranger's tag must not join li.na's case.
    reference, opened = await _mail(kefu, "stranger@elsewhere.example", f"Re: [{original}]", "我也有问题", tag=original)
    assert opened and reference != original
    async with kefu.db.reader() as s:
        linked = (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()
        first = (await s.execute(select(Case).where(Case.reference == original))).scalar_one()
    assert linked.linked_case_id == first.id
    # The case's own contact threads by the tag alone (QQ Mail drops the headers).
    again, opened = await _mail(kefu, "li.na@chery-parts.cn", f"回复：[{original}]", "补充照片", tag=original)
    assert (again, opened) == (original, False)


async def test_a_reply_naming_more_message_ids_than_a_statement_may_bind_still_joins_its_case(
    world: tuple[Kefu, FrozenClock, ListTransport],
) -> None:
    kefu, _, _ = world
    original, _ = await _mail(kefu, "li.na@chery-parts.cn", "转向器漏油", "三台车漏油。")
    async with kefu.db.reader() as s:
        first = (
            await s.execute(
                select(CaseMessage.message_id)
                .join(Case, Case.id == CaseMessage.case_id)
                .where(Case.reference == original)
            )
        ).scalar_one()
    assert first is not None
    # asyncpg binds at most 32,767 values in a statement, SQLite 32,766 by default: a References chain
    # this long (or a batch of long ones) is looked up in parts.
    ids = (*tuple(f"old{n}@customer.example" for n in range(40000)), first)
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id=uuid.uuid4().hex,
        sender_identity="li.na@chery-parts.cn",
        sender_name="李娜",
        subject="Re: 转向器漏油",
        text="补充",
        new_text="补充",
        received_at=kefu.clock(),
        language=Language.ZH,
        message_id=f"{uuid.uuid4().hex}@customer.example",
        hints=ThreadHints(message_ids=ids),
    )
    async with kefu.db.unit_of_work() as s:
        outcome = await kefu.service.receive(s, msg)
    assert (outcome.reference, outcome.opened, outcome.how) == (original, False, "message_id")
