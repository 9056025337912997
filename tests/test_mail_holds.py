"""Auto-replies and bulk mail open no case (issue 13, items 2 and 3), end to end: SMTP on
loopback into kefu, the HTTP API, a real relay catching what kefu sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.enums import Channel, Language, Role
from cases.domain.intake_message import IntakeMessage
from cases.settings import Settings
from cases.store.models import Delivery
from kefu.bootstrap import Kefu
from tests.conftest import Relay
from tests.mailhelpers import customer_mail, eventually, parse, smtp_send
from tests.served import SocketApi as Api
from tests.served import served_with_staff

CUSTOMER = "li.na@faw-parts.cn"
ADMIN = Actor("admin", roles=frozenset({Role.ADMIN}))
NEWSLETTER = {
    "Precedence": "bulk",
    "List-Id": "Autoteile Newsletter <news.autoteile-markt.de>",
    "List-Unsubscribe": "<mailto:unsubscribe@autoteile-markt.de>, <https://autoteile-markt.de/u/8f2>",
}


@pytest.fixture
async def service(settings: Settings, relay: Relay) -> AsyncIterator[tuple[Kefu, Api]]:
    async with served_with_staff(settings, relay.port) as running:
        yield running


async def _cases(api: Api) -> list[dict[str, Any]]:
    return (await api.call("gm", "GET", "/cases"))["items"]  # type: ignore[no-any-return]


async def _held(api: Api, count: int = 1) -> list[dict[str, Any]] | None:
    items: list[dict[str, Any]] = (await api.call("sales", "GET", "/inbound?status=quarantined"))["items"]
    return items if len(items) >= count else None


async def _processed(kefu: Kefu) -> None:
    await eventually(lambda: _nothing_pending(kefu), what="the processor to take every mail")


async def _nothing_pending(kefu: Kefu) -> bool:
    from cases.store.models import InboundMessage, InboundStatus

    async with kefu.db.reader() as s:
        return (
            await s.execute(select(InboundMessage.id).where(InboundMessage.status == InboundStatus.PENDING))
        ).first() is None


async def _open_case(kefu: Kefu, api: Api, relay: Relay) -> tuple[str, str]:
    """A customer's complaint; returns its reference and the Message-ID of our acknowledgement."""
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            f"李娜 <{CUSTOMER}>",
            "水泵漏水",
            "零件号 1307-00210，批次 W2611，漏水 12 件。",
            message_id="p1@faw-parts.cn",
        ),
    )
    reference = (await eventually(lambda: _cases(api), what="the case"))[0]["reference"]
    ack = await eventually(
        lambda: [parse(m.data) for m in relay.messages if CUSTOMER in m.recipients], what="the acknowledgement"
    )
    return reference, str(ack[0]["Message-ID"]).strip("<>")


async def test_auto_reply_about_no_case_opens_none_and_is_held_with_its_rule(
    service: tuple[Kefu, Api], relay: Relay
) -> None:
    kefu, api = service
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            "Klaus Weber <k.weber@zf-zulieferer.de>",
            "Automatische Antwort: Angebot Bremsscheiben",
            "Ich bin bis 12.01. nicht im Büro.",
            message_id="oof1@zf-zulieferer.de",
            headers={"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"},
        ),
        sender="",
    )
    held = (await eventually(lambda: _held(api), what="the auto-reply in the quarantine"))[0]
    assert held["message_id"] == "oof1@zf-zulieferer.de"
    assert "auto_submitted" in held["reason"] and "automatic reply about no case" in held["reason"]
    assert "auto_submitted" in held["rule_hits"]
    assert await _cases(api) == []
    # Re-run: the same rule holds it again (until, say, a site changes the table).
    await api.call("sales", "POST", f"/inbound/{held['id']}/rerun", expect=202)

    async def held_twice() -> list[dict[str, Any]]:
        return [i for i in (await _held(api)) or [] if i["attempts"] == 2]

    again = await eventually(held_twice, what="the re-run to hold it again")
    assert again[0]["reason"] == held["reason"]
    assert await _cases(api) == []
    assert not [m for m in relay.messages if "k.weber@zf-zulieferer.de" in m.recipients]


async def test_auto_reply_to_our_notice_joins_its_case_as_an_automatic_message(
    service: tuple[Kefu, Api], relay: Relay
) -> None:
    kefu, api = service
    reference, ack_id = await _open_case(kefu, api, relay)
    sent_before = len(relay.messages)
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            CUSTOMER,
            "自动回复: 您的反馈已收到",
            "您好，我正在休假，1月5日返回。",
            message_id="ooo2@faw-parts.cn",
            in_reply_to=ack_id,
            headers={"Auto-Submitted": "auto-replied"},
        ),
    )
    await _processed(kefu)
    case = await api.call("gm", "GET", f"/cases/{reference}")
    inbound = [m for m in case["messages"] if m["direction"] == "in"]
    assert len(inbound) == 2 and inbound[1]["is_automatic"] is True
    assert len(await _cases(api)) == 1
    assert await _held(api) is None
    # The decision "no action" on this case goes to the person, who wrote the complaint.
    assert await api.step("gm", reference, "no-action", reason="Known issue, fixed in W2612.") == "no_action"
    await eventually(lambda: len(relay.messages) > sent_before, what="the no-action mail")


async def test_newsletter_from_a_stranger_opens_no_case(service: tuple[Kefu, Api], relay: Relay) -> None:
    kefu, api = service
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            "Autoteile-Markt <news@autoteile-markt.de>",
            "Newsletter KW 48: Neue Bremsbeläge im Sortiment",
            "Sehr geehrte Damen und Herren, entdecken Sie unsere Angebote …",
            message_id="nl-48@autoteile-markt.de",
            headers=NEWSLETTER,
        ),
        sender="bounces+8f2@autoteile-markt.de",
    )
    held = (await eventually(lambda: _held(api), what="the newsletter in the quarantine"))[0]
    assert held["reason"].startswith("held by rule precedence_bulk")
    assert {"precedence_bulk", "mailing_list"} <= set(held["rule_hits"])
    assert await _cases(api) == []
    assert not [m for m in relay.messages if "news@autoteile-markt.de" in m.recipients]


async def test_list_mail_from_a_known_contact_or_about_a_case_is_handled_as_usual(
    service: tuple[Kefu, Api], relay: Relay
) -> None:
    kefu, api = service
    reference, _ = await _open_case(kefu, api, relay)
    group_alias = {"List-Id": "<quality.faw-parts.cn>", "Precedence": "list"}
    # Through the customer's group alias, with the subject tag: joins the case.
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            CUSTOMER,
            f"Re: [{reference}] 水泵漏水",
            "补充照片见附件。",
            message_id="p2@faw-parts.cn",
            headers=group_alias,
        ),
    )
    # A new matter from the same known contact through the alias: a new case, as usual.
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            CUSTOMER, "节温器开启温度偏高", "批次 T2610 共 5 件。", message_id="p3@faw-parts.cn", headers=group_alias
        ),
    )
    await _processed(kefu)
    cases = await _cases(api)
    assert len(cases) == 2
    case = await api.call("gm", "GET", f"/cases/{reference}")
    assert len([m for m in case["messages"] if m["direction"] == "in"]) == 2
    assert await _held(api) is None


async def test_bulk_mail_allowed_by_the_admin_opens_a_case_from_a_stranger(
    service: tuple[Kefu, Api], relay: Relay
) -> None:
    """The intake hold rules (cases/rules/tables.py `intake_holds`): the admin relaxes both rules
    the newsletter hits, and it opens a case, still without an automatic answer."""
    kefu, api = service
    for rule in ("precedence_bulk", "mailing_list"):
        await kefu.service.rules.change(ADMIN, "intake_holds", rule, "allowed")
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            "Autoteile-Markt <news@autoteile-markt.de>",
            "Newsletter KW 49: Bremsscheiben",
            "Sehr geehrte Damen und Herren …",
            message_id="nl-49@autoteile-markt.de",
            headers=NEWSLETTER,
        ),
        sender="bounces+8f2@autoteile-markt.de",
    )
    await _processed(kefu)
    assert [c["subject"] for c in await _cases(api)] == ["Newsletter KW 49: Bremsscheiben"]
    assert await _held(api) is None
    assert not [m for m in relay.messages if "news@autoteile-markt.de" in m.recipients]


async def test_list_mail_set_to_thread_only_is_held_even_from_a_known_contact(
    service: tuple[Kefu, Api], relay: Relay
) -> None:
    kefu, api = service
    reference, _ = await _open_case(kefu, api, relay)
    for rule in ("precedence_list", "mailing_list"):
        await kefu.service.rules.change(ADMIN, "intake_holds", rule, "thread_only")
    group_alias = {"List-Id": "<quality.faw-parts.cn>", "Precedence": "list"}
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            CUSTOMER, "节温器开启温度偏高", "批次 T2610 共 5 件。", message_id="p4@faw-parts.cn", headers=group_alias
        ),
    )
    held = (await eventually(lambda: _held(api), what="the list mail in the quarantine"))[0]
    assert held["reason"].startswith("held by rule precedence_list: bulk or list mail about no case")
    # Threaded to its case, the same known contact's list mail still joins it.
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            CUSTOMER, f"Re: [{reference}] 水泵漏水", "补充照片。", message_id="p5@faw-parts.cn", headers=group_alias
        ),
    )
    await _processed(kefu)
    assert [c["reference"] for c in await _cases(api)] == [reference]
    case = await api.call("gm", "GET", f"/cases/{reference}")
    assert len([m for m in case["messages"] if m["direction"] == "in"]) == 2


async def test_a_case_opened_by_automatic_mail_never_mails_the_auto_responder(kefu: Any) -> None:
    """Whatever a person does with it later ("no action" used to mail the auto-responder)."""
    from datetime import UTC, datetime

    from cases.domain.actors import Actor
    from cases.domain.enums import Role
    from tests.test_dispatch_batch import _Transport

    kefu.dispatcher.transport = _Transport()
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id="x1",
        sender_identity="autoresponder@example.cn",
        sender_name="Auto",
        subject="Out of office",
        text="I am away.",
        new_text="I am away.",
        received_at=datetime(2026, 11, 2, 8, tzinfo=UTC),
        language=Language.EN,
        auto_reply_allowed=False,
        is_automatic=True,
    )  # as a site whose rule table lets auto-replies open cases would receive it
    async with kefu.db.unit_of_work() as s:
        reference = (await kefu.service.receive(s, msg)).reference
    await kefu.service.decide_no_action(
        Actor("gm", roles=frozenset({Role.APPROVER})), reference, "an auto-reply, nothing to do"
    )
    await kefu.dispatcher.run_once()
    async with kefu.db.reader() as s:
        rows = (
            await s.execute(select(Delivery.status, Delivery.last_error).where(Delivery.audience == "customer"))
        ).all()
    assert [r[0] for r in rows] == ["suppressed"]
    assert "automatic" in (rows[0][1] or "")
    assert not [m for m in kefu.dispatcher.transport.sent if "autoresponder@example.cn" in m.recipients]
