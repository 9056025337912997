"""Who is speaking, over SMTP into a running kefu (intake rules, "who is speaking"): a stranger
who threads into a customer's case rates, reopens and closes nothing; a staff member's mail on
a case is their internal note and makes no contact; the customer's own answer still counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from cases.domain.actors import Actor
from cases.domain.enums import CaseState, Direction, Role, Speaker
from cases.queries.case_views import EVERYTHING, case_detail
from cases.settings import Settings
from cases.store.models import Case, CaseHistory, CaseMessage, Identity, OutboxEvent
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.mailhelpers import customer_mail, eventually, parse, plain_text, smtp_send
from tests.served import served

GM = Actor("gm", frozenset({Role.APPROVER}))
QE = Actor("qe", frozenset({Role.QUALITY}))
SALES = Actor("sales", frozenset({Role.SALES}))
CUSTOMER = "li.na@chery-parts.cn"


@pytest.fixture
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as running:
        yield running


async def _case(kefu: Kefu, reference: str) -> Case:
    async with kefu.db.reader() as s:
        return (await s.execute(select(Case).where(Case.reference == reference))).scalar_one()


async def _opened(kefu: Kefu, message_id: str) -> str:
    await smtp_send(
        kefu.settings.smtp_listen[1], customer_mail(CUSTOMER, "转向器漏油", "三台车漏油。", message_id=message_id)
    )

    async def reference() -> str | None:
        async with kefu.db.reader() as s:
            return (await s.execute(select(Case.reference))).scalar_one_or_none()

    return await eventually(reference, what="the case")


async def _messages(kefu: Kefu, reference: str, count: int) -> list[CaseMessage]:
    async def found() -> list[CaseMessage] | None:
        async with kefu.db.reader() as s:
            rows = list(
                (
                    await s.execute(
                        select(CaseMessage)
                        .join(Case, Case.id == CaseMessage.case_id)
                        .where(Case.reference == reference, CaseMessage.direction != Direction.OUT)
                        .order_by(CaseMessage.id)
                    )
                ).scalars()
            )
        return rows if len(rows) >= count else None

    return await eventually(found, what=f"{count} messages on the case")


async def test_a_stranger_replying_satisfied_to_a_customers_mail_closes_nothing(kefu: Kefu) -> None:
    await kefu.users.add("sales", roles=["sales"], email="sales@supplier.example")
    reference = await _opened(kefu, "first@chery-parts.cn")
    await kefu.service.approve(GM, reference, "quality")
    await kefu.service.record_analysis(QE, reference, "密封圈批次不良")
    await kefu.service.record_measures(QE, reference, "更换密封圈供应商")
    await kefu.service.verify(QE, reference, "复测合格")
    await kefu.service.reply(SALES, reference, "问题已解决，请确认。")
    port = kefu.settings.smtp_listen[1]

    stranger = customer_mail(
        "someone@elsewhere.example",
        "Re: 转向器漏油",
        "满意",
        message_id="s1@elsewhere.example",
        in_reply_to="first@chery-parts.cn",
    )
    await smtp_send(port, stranger)
    messages = await _messages(kefu, reference, 2)
    assert messages[-1].speaker is Speaker.THIRD_PARTY and messages[-1].direction is Direction.IN
    case = await _case(kefu, reference)
    assert case.state is CaseState.AWAITING_SATISFACTION and case.rating is None
    async with kefu.db.reader() as s:
        flagged = (
            (
                await s.execute(
                    select(OutboxEvent.payload).where(
                        OutboxEvent.case_id == case.id, OutboxEvent.kind == "customer_message"
                    )
                )
            )
            .scalars()
            .all()
        )
        history = (await s.execute(select(CaseHistory.action).where(CaseHistory.case_id == case.id))).scalars().all()
    assert [p.get("third_party") for p in flagged] == ["someone@elsewhere.example"]  # staff hear of it
    assert "third_party_message" in history and "rated" not in history
    detail = await _detail(kefu, reference)
    assert [m["speaker"] for m in detail["messages"] if m["direction"] != "out"] == ["customer", "third_party"]
    transport = kefu.dispatcher.transport
    assert isinstance(transport, ListTransport)

    def naming_the_stranger() -> list[str] | None:
        # kefu's own dispatcher sends it: a single run_once here may find its batch leased already
        return [text for m in transport.sent if "someone@elsewhere.example" in (text := plain_text(m.data))] or None

    told = await eventually(naming_the_stranger, what="the staff notice naming the third party")
    assert all("不是本案客户" in text or "not this case's customer" in text for text in told)

    own = customer_mail(
        CUSTOMER, "Re: 转向器漏油", "满意", message_id="c2@chery-parts.cn", in_reply_to="first@chery-parts.cn"
    )
    await smtp_send(port, own)
    await _messages(kefu, reference, 3)
    closed = await eventually(
        lambda: _state_is(kefu, reference, CaseState.CLOSED), what="the customer's own answer closing the case"
    )
    assert closed


async def _detail(kefu: Kefu, reference: str) -> dict[str, Any]:
    async with kefu.db.reader() as s:
        return await case_detail(s, EVERYTHING, reference, GM)


async def _state_is(kefu: Kefu, reference: str, state: CaseState) -> bool:
    return (await _case(kefu, reference)).state is state


async def test_a_staff_member_answering_a_notice_by_mail_writes_an_internal_note(kefu: Kefu) -> None:
    await kefu.users.add("gm", roles=["approver"], email="gm@supplier.example")
    reference = await _opened(kefu, "first@chery-parts.cn")

    transport = kefu.dispatcher.transport
    assert isinstance(transport, ListTransport)

    def approval_notice() -> str | None:
        to_gm = [parse(m.data) for m in transport.sent if m.recipients == ["gm@supplier.example"]]
        return str(to_gm[0]["Message-ID"]).strip("<>") if to_gm else None

    notice_id = await eventually(approval_notice, what="the approval request to gm")
    reply = customer_mail(
        "GM <GM@Supplier.example>",
        f"Re: [{reference}]",
        "同意，交质量部处理。",
        message_id="gm1@supplier.example",
        in_reply_to=notice_id,
    )
    await smtp_send(kefu.settings.smtp_listen[1], reply)
    note = (await _messages(kefu, reference, 2))[-1]
    assert (note.direction, note.speaker) == (Direction.NOTE, Speaker.STAFF)
    assert note.author_user_id is not None and "同意" in note.body
    # It answers the notice signed for gm, from gm's address: also the approval it states
    # (issue 13, item 4; the forged and other-address cases are in tests/test_staff_replies.py).
    case = await _case(kefu, reference)
    assert case.state is CaseState.ASSIGNED and case.department_id is not None
    async with kefu.db.reader() as s:
        staff_contacts = (
            await s.execute(
                select(func.count()).select_from(Identity).where(func.lower(Identity.value) == "gm@supplier.example")
            )
        ).scalar_one()
    assert staff_contacts == 0
