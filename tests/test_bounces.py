"""Bounces of our own notices (issue 13, item 1), end to end: a complaint over SMTP on loopback,
our acknowledgement caught by a real relay, the MTA's report sent back into kefu over SMTP, and
what the HTTP API then shows (deliveries, bounce mark, history, quarantine; no new case)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from cases.settings import Settings
from kefu.bootstrap import Kefu
from tests import dsn_samples as samples
from tests.conftest import Relay
from tests.mailhelpers import customer_mail, eventually, parse, smtp_send
from tests.served import SocketApi as Api
from tests.served import served_with_staff

CUSTOMER = "k.weber@zf-zulieferer.de"


@pytest.fixture
async def service(settings: Settings, relay: Relay) -> AsyncIterator[tuple[Kefu, Api]]:
    async with served_with_staff(settings, relay.port) as running:
        yield running


async def _complaint(kefu: Kefu, api: Api, relay: Relay) -> tuple[str, str, str]:
    """A complaint; its reference, and the Message-ID and envelope sender of our acknowledgement."""
    await smtp_send(
        kefu.settings.smtp_listen[1],
        customer_mail(
            f"Klaus Weber <{CUSTOMER}>",
            "Bremsscheibe Unwucht",
            "Teilenummer 4A0-615-301, Charge 2611, 14 Stück.",
            message_id="kw1@zf-zulieferer.de",
        ),
        sender=CUSTOMER,
    )
    reference = (await eventually(lambda: _cases(api), what="the case"))[0]["reference"]
    ack = (await eventually(lambda: _to(relay, CUSTOMER), what="the acknowledgement"))[0]
    return reference, str(parse(ack.data)["Message-ID"]).strip("<>"), ack.envelope_from


def _to(relay: Relay, rcpt: str) -> list[Any]:
    return [m for m in relay.messages if rcpt in m.recipients]


async def _cases(api: Api) -> list[dict[str, Any]]:
    return (await api.call("gm", "GET", "/cases"))["items"]  # type: ignore[no-any-return]


async def _case(api: Api, reference: str) -> dict[str, Any]:
    return await api.call("sales", "GET", f"/cases/{reference}")  # type: ignore[no-any-return]


async def _dsn_of(api: Api, reference: str) -> dict[str, Any] | None:
    found = [d["dsn"] for d in (await _case(api, reference))["deliveries"] if d["dsn"] and d["audience"] == "customer"]
    return found[0] if found else None


async def _quarantined(api: Api) -> list[dict[str, Any]]:
    return (await api.call("sales", "GET", "/inbound?status=quarantined"))["items"]  # type: ignore[no-any-return]


async def test_a_bounce_to_our_verp_address_marks_the_notice_and_the_address(
    service: tuple[Kefu, Api], relay: Relay
) -> None:
    kefu, api = service
    port = kefu.settings.smtp_listen[1]
    reference, ack_id, return_path = await _complaint(kefu, api, relay)
    assert return_path.startswith("service+b") and return_path.endswith("@kefu.example")  # VERP

    await smtp_send(port, samples.postfix(CUSTOMER, ack_id, to=return_path), sender="", rcpts=(return_path,))
    dsn = await eventually(lambda: _dsn_of(api, reference), what="the bounce on the delivery")
    assert (dsn["action"], dsn["status"]) == ("failed", "5.1.1")
    case = await _case(api, reference)
    assert [b["value"] for b in case["bounced_addresses"]] == [CUSTOMER]
    assert "delivery_failed" in [h["action"] for h in case["history"]]
    assert len([m for m in case["messages"] if m["direction"] == "in"]) == 1  # not in the conversation
    assert len(await _cases(api)) == 1 and await _quarantined(api) == []
    told = await eventually(lambda: _to(relay, "sales@supplier.example"), what="Sales to hear of it")
    assert CUSTOMER in parse(told[0].data)["Subject"]

    # The same address bounces again (Exchange, matched by the returned Message-ID only):
    # recorded, but Sales are not told twice.
    await smtp_send(port, samples.exchange(CUSTOMER, ack_id), sender="", rcpts=("service@kefu.example",))
    await eventually(lambda: _status_is(api, reference, "5.1.10"), what="the second report")
    await kefu.dispatcher.run_once()
    assert len(_to(relay, "sales@supplier.example")) == 1

    # No customer notice goes to the bouncing address; after staff clear the mark, it does.
    sent = len(_to(relay, CUSTOMER))
    assert await api.step("gm", reference, "no-action", reason="Unwucht im Rahmen der Toleranz.") == "no_action"
    await kefu.dispatcher.run_once()
    assert len(_to(relay, CUSTOMER)) == sent
    identity_id = case["bounced_addresses"][0]["identity_id"]
    await api.call("gm", "POST", f"/identities/{identity_id}/clear-bounce", expect=403)  # Sales' desk
    cleared = await api.call("sales", "POST", f"/identities/{identity_id}/clear-bounce")
    assert cleared["value"] == CUSTOMER and cleared["bounced_at"] is None
    assert (await _case(api, reference))["bounced_addresses"] == []
    await api.call("sales", "POST", "/identities/999999/clear-bounce", expect=404)


async def _status_is(api: Api, reference: str, status: str) -> bool:
    dsn = await _dsn_of(api, reference)
    return dsn is not None and dsn["status"] == status


@pytest.mark.parametrize("make", [samples.exim, samples.exim_plain, samples.gmail, samples.qmail])
async def test_bounces_of_other_mtas_are_matched_by_the_returned_message_id(
    service: tuple[Kefu, Api], relay: Relay, make: Callable[[str, str], bytes]
) -> None:
    kefu, api = service
    reference, ack_id, _ = await _complaint(kefu, api, relay)
    await smtp_send(kefu.settings.smtp_listen[1], make(CUSTOMER, ack_id), sender="", rcpts=("service@kefu.example",))
    dsn = await eventually(lambda: _dsn_of(api, reference), what="the bounce on the delivery")
    assert dsn["action"] == "failed" and dsn["status"].startswith("5.")
    assert (await _case(api, reference))["bounced_addresses"][0]["value"] == CUSTOMER
    assert len(await _cases(api)) == 1 and await _quarantined(api) == []


async def test_a_delay_warning_is_recorded_and_marks_nothing(service: tuple[Kefu, Api], relay: Relay) -> None:
    kefu, api = service
    reference, ack_id, return_path = await _complaint(kefu, api, relay)
    await smtp_send(
        kefu.settings.smtp_listen[1],
        samples.postfix(CUSTOMER, ack_id, to=return_path, action="delayed"),
        sender="",
        rcpts=(return_path,),
    )
    dsn = await eventually(lambda: _dsn_of(api, reference), what="the delay on the delivery")
    assert (dsn["action"], dsn["status"]) == ("delayed", "4.4.1")
    assert (await _case(api, reference))["bounced_addresses"] == []


async def test_a_bounce_about_no_notice_of_ours_is_quarantined_with_its_reason(
    service: tuple[Kefu, Api], relay: Relay
) -> None:
    kefu, api = service
    await smtp_send(
        kefu.settings.smtp_listen[1],
        samples.postfix("someone@elsewhere.example", "not-ours-1234@spammer.example"),
        sender="",
    )
    held = (await eventually(lambda: _quarantined(api), what="the bounce in the quarantine"))[0]
    assert "delivery report about no notice of ours" in held["reason"]
    assert "bounce" in held["rule_hits"]
    assert await _cases(api) == []
