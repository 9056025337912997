"""Ratings by mail and a customer writing to a closed case, over SMTP into a running kefu
(issue 13, items 5 and 13): every answer keeps its rating and score, the satisfaction request is
part of the conversation, a bare thanks joins a closed case, anything else reopens it for the
department and Sales, and a case closed long ago gets a new, linked case instead."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from cases.domain.actors import Actor
from cases.domain.enums import CaseState, Role
from cases.queries.case_views import EVERYTHING, case_detail
from cases.settings import Settings
from cases.store.models import Case, CaseHistory, CaseMessage, CaseRating, OutboxEvent
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.mailhelpers import customer_mail, eventually, parse, smtp_send
from tests.served import served

GM = Actor("gm", frozenset({Role.APPROVER}))
QE = Actor("qe", frozenset({Role.QUALITY}))
SALES = Actor("sales", frozenset({Role.SALES}))
CUSTOMER = "wang.fang@faw-parts.cn"


@pytest.fixture
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as running:
        yield running


async def _awaiting(kefu: Kefu) -> str:
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(CUSTOMER, "转向器漏油", "三台车漏油。", message_id="first@faw-parts.cn"),
    )

    async def reference() -> str | None:
        async with kefu.db.reader() as s:
            return (await s.execute(select(Case.reference))).scalar_one_or_none()

    ref = await eventually(reference, what="the case")
    await kefu.service.approve(GM, ref, "quality")
    await kefu.service.record_analysis(QE, ref, "密封圈批次不良")
    await kefu.service.record_measures(QE, ref, "更换密封圈供应商")
    await kefu.service.verify(QE, ref, "复测合格")
    await kefu.service.reply(SALES, ref, "问题已解决，请确认。")
    return ref


async def _answer(kefu: Kefu, ref: str, text: str, n: int) -> None:
    mail = customer_mail(CUSTOMER, f"Re: [{ref}] 转向器漏油", text, message_id=f"a{n}@faw-parts.cn")
    await smtp_send(kefu.settings.smtp_listen[1], mail)

    async def stored() -> bool:
        async with kefu.db.reader() as s:
            found = await s.execute(select(CaseMessage.id).where(CaseMessage.message_id == f"a{n}@faw-parts.cn"))
            return found.first() is not None

    await eventually(stored, what=f"answer {n} stored")


async def _case(kefu: Kefu, ref: str) -> Case:
    async with kefu.db.reader() as s:
        return (await s.execute(select(Case).where(Case.reference == ref))).scalar_one()


async def _ratings(kefu: Kefu, ref: str) -> list[tuple[str, int | None, str, str]]:
    async with kefu.db.reader() as s:
        rows = await s.execute(
            select(CaseRating.rating, CaseRating.score, CaseRating.channel, CaseRating.source)
            .join(Case, Case.id == CaseRating.case_id)
            .where(Case.reference == ref)
            .order_by(CaseRating.id)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]


async def _detail(kefu: Kefu, ref: str) -> dict[str, Any]:
    async with kefu.db.reader() as s:
        return await case_detail(s, EVERYTHING, ref, GM)


async def _events(kefu: Kefu, ref: str, kind: str) -> list[dict[str, Any]]:
    case = await _case(kefu, ref)
    async with kefu.db.reader() as s:
        rows = await s.execute(
            select(OutboxEvent.payload).where(OutboxEvent.case_id == case.id, OutboxEvent.kind == kind)
        )
        return list(rows.scalars())


async def test_every_answer_by_mail_is_kept_with_its_score_across_a_reopen(kefu: Kefu) -> None:
    ref = await _awaiting(kefu)
    await _answer(kefu, ref, "不满意，还是漏油", 1)
    assert (await _case(kefu, ref)).state is CaseState.ASSIGNED

    await kefu.service.record_analysis(QE, ref, "二次分析")
    await kefu.service.record_measures(QE, ref, "更换整批")
    await kefu.service.verify(QE, ref, "复测合格")
    await kefu.service.reply(SALES, ref, "已更换整批。")
    await _answer(kefu, ref, "非常满意，谢谢！", 2)

    case = await _case(kefu, ref)
    assert (case.state, case.rating, case.rating_score) == (CaseState.CLOSED, "satisfied", 5)
    assert await _ratings(kefu, ref) == [("unsatisfied", 2, "email", "customer"), ("satisfied", 5, "email", "customer")]


async def test_the_satisfaction_request_is_part_of_the_conversation(kefu: Kefu) -> None:
    ref = await _awaiting(kefu)

    async def sent() -> list[dict[str, Any]] | None:
        out = [m for m in (await _detail(kefu, ref))["messages"] if m["direction"] == "out" and m["is_automatic"]]
        return [m for m in out if "满意度确认" in m["body"]] or None

    request = (await eventually(sent, what="the reply notice in the conversation"))[0]
    assert "问题已解决，请确认。" in request["body"] and "满意 / 一般 / 不满意" in request["body"]
    assert request["message_id"]  # the customer's answer threads to it


async def _closed(kefu: Kefu) -> str:
    ref = await _awaiting(kefu)
    await _answer(kefu, ref, "满意", 1)
    assert (await _case(kefu, ref)).state is CaseState.CLOSED
    return ref


async def test_a_bare_thanks_joins_a_closed_case_without_reopening_it(kefu: Kefu) -> None:
    ref = await _closed(kefu)
    await _answer(kefu, ref, "谢谢！\n\n发自我的iPhone", 2)
    case = await _case(kefu, ref)
    assert case.state is CaseState.CLOSED and case.reopen_count == 0
    assert [m["new_text"] for m in (await _detail(kefu, ref))["messages"] if m["direction"] == "in"][-1].startswith(
        "谢谢"
    )
    assert await _events(kefu, ref, "case_reopened") == []


async def test_a_customer_writing_to_a_recently_closed_case_reopens_it_and_staff_are_told(kefu: Kefu) -> None:
    await kefu.users.add("qe", roles=["quality", "department"], department="quality", email="qe@supplier.example")
    await kefu.users.add("sales", roles=["sales"], department="sales", email="sales@supplier.example")
    ref = await _closed(kefu)
    await _answer(kefu, ref, "又有两台车漏油了，请再看一下。", 2)
    case = await _case(kefu, ref)
    assert (case.state, case.reopen_count, case.closed_at) == (CaseState.ASSIGNED, 1, None)
    events = await _events(kefu, ref, "case_reopened")
    assert [e.get("why") for e in events] == ["message"]
    transport = kefu.dispatcher.transport
    assert isinstance(transport, ListTransport)

    def told() -> set[str] | None:
        found = {
            m.recipients[0]
            for m in transport.sent
            if f"[{ref}] 客户在关闭后来信，已重新开启" in str(parse(m.data)["Subject"])
        }
        return found if len(found) >= 2 else None

    assert await eventually(told, what="the department and Sales told") == {
        "qe@supplier.example",
        "sales@supplier.example",
    }


async def test_unsatisfied_after_closing_reopens_and_is_kept_as_a_rating(kefu: Kefu) -> None:
    ref = await _closed(kefu)
    await _answer(kefu, ref, "不满意", 2)
    assert (await _case(kefu, ref)).state is CaseState.ASSIGNED
    assert await _ratings(kefu, ref) == [("satisfied", 4, "email", "customer"), ("unsatisfied", 2, "email", "customer")]


async def test_writing_to_a_case_closed_long_ago_opens_a_new_linked_case(kefu: Kefu) -> None:
    ref = await _closed(kefu)
    async with kefu.db.unit_of_work() as s:
        long_ago = kefu.clock() - timedelta(days=45)
        await s.execute(update(Case).where(Case.reference == ref).values(closed_at=long_ago))
    await _answer(kefu, ref, "同一批零件又漏油了。", 2)

    old = await _case(kefu, ref)
    assert old.state is CaseState.CLOSED and old.reopen_count == 0
    async with kefu.db.reader() as s:
        new = (await s.execute(select(Case).where(Case.linked_case_id == old.id))).scalar_one()
        opened = (
            await s.execute(
                select(CaseHistory.note).where(CaseHistory.case_id == new.id, CaseHistory.action == "opened")
            )
        ).scalar_one()
    assert new.state is CaseState.NEW and new.reference != ref
    assert f"linked to {ref}" in opened and "45 days after" in opened
    assert [e["text"] for e in await _events(kefu, ref, "customer_message")] == ["同一批零件又漏油了。"]
