"""Fan-out rules a batch must keep: one notice per person and event (a Sales member on a case
of the Sales department is in both staff notices of a customer message; two rows would break
the deliveries' unique key and stop all fan-out), and the daily cap of automatic mails."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from cases.domain.enums import Channel
from cases.domain.events import EventKind
from cases.services.records import emit
from cases.store.models import Case, Delivery, Department
from tests.test_dispatch_batch import _cases, _Transport


async def test_a_person_in_the_department_and_in_sales_gets_one_notice(kefu: Any) -> None:
    kefu.dispatcher.transport = _Transport()
    await kefu.users.add("sun", roles=["sales"], department="sales", email="sun@supplier.example")
    await _cases(kefu, 1)
    assert await kefu.dispatcher.run_once() == 1  # the acknowledgement
    async with kefu.db.unit_of_work() as s:
        case = (await s.execute(select(Case))).scalar_one()
        case.department_id = (await s.execute(select(Department.id).where(Department.code == "sales"))).scalar_one()
        emit(s, EventKind.CUSTOMER_MESSAGE, case, case.received_at, text="还有一个问题")
        emit(s, EventKind.CASE_RATED, case, case.received_at, rating="satisfied")  # a later event

    await kefu.dispatcher.run_once()
    async with kefu.db.reader() as s:
        staff = (
            await s.execute(
                select(Delivery.template, Delivery.recipient).where(Delivery.audience == "staff").order_by(Delivery.id)
            )
        ).all()
    assert staff == [("customer_message", "sun@supplier.example"), ("case_closed", "sun@supplier.example")]


async def test_the_daily_cap_counts_a_burst_that_arrives_in_one_batch(kefu: Any) -> None:
    """Automatic mails to one address stop at the cap (a mail loop must not run away), also
    when every mail of the burst is fanned out in the same batch."""

    from intake.inbox import RawInput
    from intake.mailkey import dedupe_key
    from notifications.fanout import Fanout
    from tests.mailhelpers import customer_mail

    kefu.dispatcher.transport = _Transport()
    kefu.dispatcher.fanout = Fanout(kefu.signer, "kefu.example", cap_per_day=3)
    for i in range(5):
        raw = customer_mail("loop@example.cn", f"问题 {i}", "请处理。", message_id=f"l{i}@example.cn").as_bytes()
        message_id, key = dedupe_key(raw)
        await kefu.inbox.put(
            RawInput(
                channel=Channel.EMAIL,
                dedupe_key=key,
                raw=raw,
                message_id=message_id,
                envelope_from="loop@example.cn",
                envelope_to=("service@kefu.example",),
            )
        )
    await kefu.processor.drain()
    await kefu.dispatcher.run_once()
    async with kefu.db.reader() as s:
        statuses = (
            (
                await s.execute(
                    select(Delivery.status).where(Delivery.recipient == "loop@example.cn").order_by(Delivery.id)
                )
            )
            .scalars()
            .all()
        )
    assert statuses == ["sent"] * 3 + ["suppressed"] * 2
    assert len(kefu.dispatcher.transport.sent) == 3


async def test_an_event_that_cannot_be_fanned_out_is_set_aside_and_the_others_go_on(kefu: Any) -> None:
    from cases.store.models import OutboxEvent

    kefu.dispatcher.transport = _Transport()
    await _cases(kefu, 3)
    async with kefu.db.unit_of_work() as s:
        bad = (await s.execute(select(OutboxEvent).order_by(OutboxEvent.id).offset(1).limit(1))).scalar_one()
        bad.kind = "no_such_event"  # what a newer version wrote, say
    assert await kefu.dispatcher.run_once() == 2  # the two good acknowledgements
    async with kefu.db.reader() as s:
        events = (
            await s.execute(
                select(OutboxEvent.kind, OutboxEvent.fanned_out_at.is_not(None), OutboxEvent.fanout_error).order_by(
                    OutboxEvent.id
                )
            )
        ).all()
    assert [(k, done) for k, done, _ in events] == [
        ("case_opened", True),
        ("no_such_event", True),
        ("case_opened", True),
    ]
    assert events[1][2].startswith("ValueError") and [e for _, _, e in events].count(None) == 2
