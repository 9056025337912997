"""The dispatcher sends a leased batch, then records its results together: what that changes
(and what it must not) when a send fails oddly, a lease runs short, or one case has two notices."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from cases.domain.clock import utcnow
from cases.domain.enums import Channel
from cases.domain.events import EventKind
from cases.services.records import emit
from cases.store.models import Case, CaseMessage, Delivery
from intake.inbox import RawInput
from intake.mailkey import dedupe_key
from tests.conftest import Caught
from tests.mailhelpers import customer_mail, parse


async def _cases(kefu: Any, count: int) -> None:
    for i in range(count):
        raw = customer_mail(
            f"customer{i}@example.cn", f"刹车片异响 {i}", "装车后刹车片异响。", message_id=f"c{i}@example.cn"
        ).as_bytes()
        message_id, key = dedupe_key(raw)
        await kefu.inbox.put(
            RawInput(
                channel=Channel.EMAIL,
                dedupe_key=key,
                raw=raw,
                message_id=message_id,
                envelope_from=f"customer{i}@example.cn",
                envelope_to=("service@kefu.example",),
            )
        )
    await kefu.processor.drain()


async def _deliveries(kefu: Any) -> list[Delivery]:
    async with kefu.db.reader() as s:
        return list((await s.execute(select(Delivery).order_by(Delivery.id))).scalars())


class _Transport:
    """Keeps what was sent; `during` runs inside each send (the delivery is still unrecorded)."""

    def __init__(self, during: Any = None) -> None:
        self.sent: list[Caught] = []
        self.during = during

    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> None:
        if self.during is not None:
            await self.during(self, data)
        self.sent.append(Caught(envelope_from, list(recipients), data))


async def test_results_are_recorded_after_the_sends_in_one_go(kefu: Any) -> None:
    pending_while_sending: list[int] = []

    async def look(transport: _Transport, data: bytes) -> None:
        pending_while_sending.append(sum(d.status == "pending" for d in await _deliveries(kefu)))

    kefu.dispatcher.transport = _Transport(look)
    await _cases(kefu, 3)

    assert await kefu.dispatcher.run_once() == 3
    assert pending_while_sending == [3, 3, 3], "nothing is recorded before the batch is through"
    deliveries = await _deliveries(kefu)
    assert [(d.status, d.attempts, d.lease_until) for d in deliveries] == [("sent", 1, None)] * 3
    async with kefu.db.reader() as s:
        notes = (await s.execute(select(CaseMessage).where(CaseMessage.is_automatic.is_(True)))).scalars().all()
    assert Counter(n.message_id for n in notes) == Counter(d.message_id for d in deliveries)


async def test_an_unexpected_error_still_records_what_the_batch_sent_before_it(kefu: Any) -> None:
    async def break_on_second(transport: _Transport, data: bytes) -> None:
        if len(transport.sent) == 1:
            raise RuntimeError("a bug, not a send result")

    transport = _Transport(break_on_second)
    kefu.dispatcher.transport = transport
    await _cases(kefu, 3)

    with pytest.raises(RuntimeError):
        await kefu.dispatcher.run_once()
    first, second, third = await _deliveries(kefu)
    assert (first.status, first.sent_at is not None) == ("sent", True)
    # As before: what raised stays leased and goes again when the lease is over.
    assert [(d.status, d.attempts, d.lease_until is not None) for d in (second, third)] == [("pending", 0, True)] * 2
    assert len(transport.sent) == 1


async def test_a_batch_near_the_end_of_its_lease_hands_the_rest_back(
    kefu: Any, caplog: pytest.LogCaptureFixture
) -> None:
    now = [utcnow()]
    kefu.dispatcher.clock = lambda: now[0]

    async def slow_relay(transport: _Transport, data: bytes) -> None:
        now[0] += timedelta(minutes=2)  # a relay that times out and then takes the mail

    transport = _Transport(slow_relay)
    kefu.dispatcher.transport = transport
    await _cases(kefu, 4)

    with caplog.at_level(logging.WARNING, logger="notifications.dispatcher"):
        assert await kefu.dispatcher.run_once() == 4
    assert "handed back unsent" in caplog.text
    assert sorted(parse(m.data)["To"] for m in transport.sent) == [f"customer{i}@example.cn" for i in range(4)]
    assert [(d.status, d.attempts) for d in await _deliveries(kefu)] == [("sent", 1)] * 4


async def test_two_notices_of_one_case_in_one_batch_thread_as_if_sent_one_at_a_time(kefu: Any) -> None:
    transport = _Transport()
    kefu.dispatcher.transport = transport
    await _cases(kefu, 1)
    async with kefu.db.unit_of_work() as s:
        case = (await s.execute(select(Case))).scalar_one()
        emit(s, EventKind.CASE_REOPENED, case, datetime.now(case.received_at.tzinfo))

    assert await kefu.dispatcher.run_once() == 2
    opened, reopened = (parse(m.data) for m in transport.sent)
    assert opened["References"] == "<c0@example.cn>"
    # The acknowledgement joined the conversation before the second notice was composed.
    assert reopened["References"] == f"<c0@example.cn> {opened['Message-ID']}"
    assert reopened["In-Reply-To"] == "<c0@example.cn>"
