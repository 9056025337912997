"""A staff member answering a notice by email (issue 13, item 4), over SMTP into a running
kefu: the reply is their internal note, never a customer message, and makes no contact; it
takes a workflow step (approve, no action with a reason) only when it answers a notice sent to
that very address (a token signed for the recipient in the notice's Message-ID); otherwise the
history says how to take the step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.queries.case_views import EVERYTHING, case_detail
from cases.services.staff_replies import read_step
from cases.settings import Settings
from cases.store.models import Case, Department, Identity
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.mailhelpers import customer_mail, eventually, parse, smtp_send
from tests.served import served

GM = Actor("gm", frozenset({Role.APPROVER}))


@pytest.fixture
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as running:
        await running.users.add("gm", roles=["approver"], email="gm@supplier.example")
        await running.users.add("deputy", roles=["approver"], email="deputy@supplier.example")
        yield running


async def _opened_and_noticed(kefu: Kefu) -> tuple[str, dict[str, str]]:
    """A customer's case, and the Message-ID of the approval notice each approver got."""
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail("li.na@chery-parts.cn", "转向器漏油", "三台车漏油。", message_id="c1@chery-parts.cn"),
    )
    transport = kefu.dispatcher.transport
    assert isinstance(transport, ListTransport)

    def notices() -> dict[str, str] | None:
        found = {
            m.recipients[0]: str(parse(m.data)["Message-ID"]).strip("<>")
            for m in transport.sent
            if "待审批" in str(parse(m.data)["Subject"])
        }
        return found if len(found) == 2 else None

    ids = await eventually(notices, what="the approval notices")
    async with kefu.db.reader() as s:
        ref = (await s.execute(select(Case.reference))).scalar_one()
    return ref, ids


async def _reply(kefu: Kefu, sender: str, ref: str, text: str, n: int, in_reply_to: str | None) -> dict[str, Any]:
    mail = customer_mail(
        sender, f"Re: [{ref}] 待审批：转向器漏油", text, message_id=f"r{n}@supplier.example", in_reply_to=in_reply_to
    )
    await smtp_send(kefu.settings.smtp_listen[1], mail)

    async def noted() -> dict[str, Any] | None:
        async with kefu.db.reader() as s:
            detail = await case_detail(s, EVERYTHING, ref, GM)
        return detail if any(m["message_id"] == f"r{n}@supplier.example" for m in detail["messages"]) else None

    return await eventually(noted, what="the reply on the case")


def _history(detail: dict[str, Any]) -> list[tuple[str, str]]:
    return [(h["action"], h["actor"]) for h in detail["history"]]


async def test_the_approver_answering_the_approval_notice_approves_and_it_is_their_note(kefu: Kefu) -> None:
    ref, ids = await _opened_and_noticed(kefu)
    detail = await _reply(
        kefu, "gm@supplier.example", ref, "同意，交质量部处理。\n\n王总", 1, ids["gm@supplier.example"]
    )

    assert detail["state"] == "assigned" and detail["department"] == "quality", detail["history"]
    assert ("approve", "gm") in _history(detail) and ("staff_mail_note", "gm") in _history(detail)
    note = next(m for m in detail["messages"] if m["message_id"] == "r1@supplier.example")
    assert (note["direction"], note["speaker"], note["author"]) == ("note", "staff", "gm")
    async with kefu.db.reader() as s:
        assert (await s.execute(select(Identity).where(Identity.value == "gm@supplier.example"))).first() is None


async def test_no_action_by_reply_takes_the_reason_from_the_mail(kefu: Kefu) -> None:
    ref, ids = await _opened_and_noticed(kefu)
    detail = await _reply(
        kefu, "deputy@supplier.example", ref, "不做处理：非本公司产品。", 2, ids["deputy@supplier.example"]
    )
    assert detail["state"] == "no_action" and detail["no_action_reason"] == "非本公司产品。", detail["history"]
    assert ("decide_no_action", "deputy") in _history(detail)


async def test_a_reply_to_someone_elses_notice_or_to_no_notice_takes_no_step(kefu: Kefu) -> None:
    ref, ids = await _opened_and_noticed(kefu)
    # From: the deputy (could be forged), answering the notice that went to gm
    detail = await _reply(kefu, "deputy@supplier.example", ref, "同意 quality", 3, ids["gm@supplier.example"])
    assert detail["state"] == "new"
    # only the subject tag, no notice named
    detail = await _reply(kefu, "gm@supplier.example", ref, "同意 质量部", 4, None)
    assert detail["state"] == "new"
    refused = [h for h in detail["history"] if h["action"] == "staff_step_not_taken"]
    assert [h["actor"] for h in refused] == ["deputy", "gm"]
    assert all("POST /api/v1/cases/" + ref + "/approve" in h["note"] for h in refused)


async def test_a_reply_from_another_mailbox_to_a_staff_notice_is_that_persons_note_and_no_contact(kefu: Kefu) -> None:
    ref, ids = await _opened_and_noticed(kefu)
    detail = await _reply(kefu, "wang.zong@163.com", ref, "同意 质量部", 5, ids["gm@supplier.example"])
    assert detail["state"] == "new"
    note = next(m for m in detail["messages"] if m["message_id"] == "r5@supplier.example")
    assert (note["direction"], note["speaker"], note["author"]) == ("note", "staff", "gm")
    async with kefu.db.reader() as s:
        assert (await s.execute(select(Identity).where(Identity.value == "wang.zong@163.com"))).first() is None


def test_the_step_must_be_stated_plainly() -> None:
    depts = [
        Department(code="quality", name_zh="质量部", name_en="Quality"),
        Department(code="sales", name_zh="销售部", name_en="Sales"),
    ]
    assert read_step("同意，质量部", depts) is not None
    assert read_step("Approve - quality", depts) is not None
    assert read_step("同意", depts) is None  # which department?
    assert read_step("同意 质量部和销售部", depts) is None  # two
    assert read_step("不同意 质量部", depts) is None
    assert read_step("不做处理", depts) is None  # no reason
    assert read_step("收到，我看一下", depts) is None
