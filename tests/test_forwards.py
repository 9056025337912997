"""Forwarded mail (issue 13, item 7): the forwarded message's sender, subject and text are shown
in the case and found by search, whether it came as an enclosed message/rfc822 part or inline
(Gmail, Outlook, Foxmail / QQ Mail); a customer forwarding stays the contact, and when staff
forward a customer's mail to the service address the original sender becomes the contact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.queries.case_views import EVERYTHING, CaseFilter, case_detail, list_cases
from cases.settings import Settings
from cases.store.models import Case, CaseHistory, Identity
from intake.forwards import inline_forward
from kefu.bootstrap import Kefu
from tests.conftest import ListTransport
from tests.mailhelpers import customer_mail, eventually, smtp_send
from tests.served import served

GM = Actor("gm", frozenset({Role.APPROVER}))

GMAIL = """请看下面客户的邮件。

---------- Forwarded message ---------
From: Li Na <li.na@chery-parts.cn>
Date: Thu, 3 Dec 2026 at 09:12
Subject: 转向器漏油
To: <sales@supplier.example>


三台车转向器漏油，批次 B2026-0311。
"""
OUTLOOK = """FYI

-----Original Message-----
From: Zhao Lei <zhao.lei@yutong-parts.cn>
Sent: Thursday, December 3, 2026 9:12 AM
To: Sales <sales@supplier.example>
Subject: Brake drum cracks

Two brake drums cracked, lot 2611.
"""
FOXMAIL = """转给你们处理。

-----原始邮件-----
发件人："王芳" <wang.fang@faw-parts.cn>
发送时间：2026年12月3日(星期四) 上午9:12
收件人："销售" <sales@supplier.example>
主题：刹车片异响

装车后刹车片异响，零件号 3501-00123。
"""


@pytest.mark.parametrize(
    ("subject", "text", "sender", "name", "fwd_subject", "body"),
    [
        (
            "Fwd: 转向器漏油",
            GMAIL,
            "li.na@chery-parts.cn",
            "Li Na",
            "转向器漏油",
            "三台车转向器漏油，批次 B2026-0311。",
        ),
        (
            "FW: Brake drum cracks",
            OUTLOOK,
            "zhao.lei@yutong-parts.cn",
            "Zhao Lei",
            "Brake drum cracks",
            "Two brake drums cracked, lot 2611.",
        ),
        (
            "转发：刹车片异响",
            FOXMAIL,
            "wang.fang@faw-parts.cn",
            "王芳",
            "刹车片异响",
            "装车后刹车片异响，零件号 3501-00123。",
        ),
    ],
)
def test_inline_forwards_give_their_sender_subject_and_text(
    subject: str, text: str, sender: str, name: str, fwd_subject: str, body: str
) -> None:
    fwd = inline_forward(subject, text)
    assert fwd is not None
    assert (fwd.sender, fwd.sender_name, fwd.subject, fwd.text) == (sender, name, fwd_subject, body)


def test_an_outlook_reply_quoting_the_original_is_no_forward() -> None:
    assert inline_forward("RE: Brake drum cracks", OUTLOOK) is None
    assert inline_forward("Re: 转向器漏油", "好的，收到。\n\n" + GMAIL) is None  # a reply quoting a forward
    assert inline_forward("Brake drum cracks", "no forward here") is None


@pytest.fixture
async def kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as running:
        yield running


async def _one_case(kefu: Kefu) -> dict[str, Any]:
    async def reference() -> str | None:
        async with kefu.db.reader() as s:
            return (await s.execute(select(Case.reference))).scalar_one_or_none()

    ref = await eventually(reference, what="the case")
    async with kefu.db.reader() as s:
        return await case_detail(s, EVERYTHING, ref, GM)


async def _contact_addresses(kefu: Kefu, contact_id: int) -> list[str]:
    async with kefu.db.reader() as s:
        return list((await s.execute(select(Identity.value).where(Identity.contact_id == contact_id))).scalars())


async def test_an_enclosed_forwarded_mail_is_shown_and_searchable_and_the_forwarder_stays_the_contact(
    kefu: Kefu,
) -> None:
    inner = customer_mail(
        "周敏 <zhou.min@sinotruk-parts.cn>",
        "离合器打滑",
        "离合器片打滑，VIN LZZ1BXND7KA123456。",
        message_id="inner@sinotruk-parts.cn",
    )
    outer = EmailMessage()
    outer["From"] = "陈杰 <chen.jie@sinotruk-parts.cn>"
    outer["To"] = "service@kefu.example"
    outer["Subject"] = "Fw: 离合器打滑"
    outer["Message-ID"] = "<outer@sinotruk-parts.cn>"
    outer.set_content("转发给贵司，请处理。")
    outer.add_attachment(inner)  # message/rfc822, as Outlook's "forward as attachment"
    await smtp_send(kefu.settings.smtp_listen[1], outer)

    case = await _one_case(kefu)
    message = case["messages"][0]
    fwd = message["forwarded"]
    assert (fwd["sender"], fwd["sender_name"], fwd["subject"]) == ("zhou.min@sinotruk-parts.cn", "周敏", "离合器打滑")
    assert fwd["text"].strip() == "离合器片打滑，VIN LZZ1BXND7KA123456。"
    assert "离合器片打滑" in message["body"] and "zhou.min@sinotruk-parts.cn" in message["body"]
    assert await _contact_addresses(kefu, case["contact"]["id"]) == ["chen.jie@sinotruk-parts.cn"]
    async with kefu.db.reader() as s:
        found = await list_cases(s, EVERYTHING, CaseFilter(q="离合器片打滑"))
    assert [c["reference"] for c in found["items"]] == [case["reference"]]


async def test_staff_forwarding_a_customers_mail_makes_the_original_sender_the_contact(kefu: Kefu) -> None:
    await kefu.users.add("sales", roles=["sales"], email="sales@supplier.example")
    mail = customer_mail(
        "Sales <sales@supplier.example>", "转发：刹车片异响", FOXMAIL, message_id="fw1@supplier.example"
    )
    await smtp_send(kefu.settings.smtp_listen[1], mail)

    case = await _one_case(kefu)
    assert case["subject"] == "刹车片异响"
    assert await _contact_addresses(kefu, case["contact"]["id"]) == ["wang.fang@faw-parts.cn"]
    assert case["messages"][0]["sender"] == "wang.fang@faw-parts.cn"
    assert case["messages"][0]["forwarded"]["subject"] == "刹车片异响"
    async with kefu.db.reader() as s:
        staff_contacts = (await s.execute(select(Identity.id).where(Identity.value == "sales@supplier.example"))).all()
        forwarded = (
            await s.execute(
                select(CaseHistory.actor, CaseHistory.note).where(CaseHistory.action == "forwarded_by_staff")
            )
        ).all()
    assert staff_contacts == []  # no contact is made for the staff member
    assert [(a, n) for a, n in forwarded] == [("sales", "forwarded the mail of wang.fang@faw-parts.cn")]
