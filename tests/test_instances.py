"""Several instances side by side on one PostgreSQL database: each takes mail on its own SMTP
port, they share the processing and the notifications (FOR UPDATE SKIP LOCKED), and every mail
becomes exactly one case message, with references unique and without gaps, and every
acknowledgement is sent once."""

from __future__ import annotations

import asyncio
import time
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from cases.domain.enums import Channel
from cases.settings import Settings
from cases.store.models import Case, CaseMessage, Delivery, InboundMessage, Instance
from intake.inbox import RawInput
from kefu.bootstrap import Kefu, bootstrap
from tests.conftest import ListTransport, free_port
from tests.mailhelpers import customer_mail, eventually, smtp_send
from tests.served import served

MAILS = 60


async def test_two_instances_share_the_work_and_nothing_is_done_twice(settings: Settings) -> None:
    if not settings.sqlalchemy_url.startswith("postgresql"):
        pytest.skip("several instances share one database on PostgreSQL; SQLite is the one-machine default")
    transports = [ListTransport(), ListTransport()]
    async with AsyncExitStack() as stack:
        instances = []
        for n, transport in enumerate(transports):
            own = replace(
                settings,
                smtp_listen=("127.0.0.1", free_port()),
                http_listen=("127.0.0.1", free_port()),
                instance_id=f"i{n}",
            )
            instances.append(await stack.enter_async_context(served(own, transport=transport, http=False)))
        first = instances[0]

        async def send(n: int) -> None:
            target = instances[n % 2].settings.smtp_listen[1]
            sender = f"客户{n % 9} <c{n % 9}@dfmc-parts.cn>"
            await smtp_send(
                target,
                customer_mail(
                    sender, f"漏油 {n}", f"零件号：3501-{n:05d}\n漏油。", message_id=f"multi{n}@dfmc-parts.cn"
                ),
            )

        for start in range(0, MAILS, 10):
            await asyncio.gather(*(send(n) for n in range(start, start + 10)))

        async def all_processed() -> bool:
            async with first.db.reader() as s:
                pending = (
                    await s.execute(
                        select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "pending")
                    )
                ).scalar_one()
                sent = (
                    await s.execute(
                        select(func.count())
                        .select_from(Delivery)
                        .where(Delivery.template == "case_opened", Delivery.status == "sent")
                    )
                ).scalar_one()
            return pending == 0 and sent == MAILS

        await eventually(all_processed, timeout=60, what="both instances to process and acknowledge every mail")
        async with first.db.reader() as s:
            per_mail = dict(
                (
                    await s.execute(
                        select(CaseMessage.message_id, func.count())
                        .where(CaseMessage.direction == "in")
                        .group_by(CaseMessage.message_id)
                    )
                ).all()
            )
            references = sorted((await s.execute(select(Case.reference))).scalars())
    assert per_mail == {f"multi{n}@dfmc-parts.cn": 1 for n in range(MAILS)}
    year = references[0].split("-")[1]
    assert references == [f"FB-{year}-{n:06d}" for n in range(1, MAILS + 1)]
    acks = [m for t in transports for m in t.sent if any(r.endswith("@dfmc-parts.cn") for r in m.recipients)]
    assert len(acks) == MAILS  # each acknowledgement once, by one instance or the other


# -- a restart takes back its own leases; anyone takes back a dead instance's (issue 17, 2) ------
async def _leased_acknowledgements(kefu: Kefu, count: int) -> list[int]:
    """`count` mails processed and fanned out, their acknowledgements leased by a dispatcher
    that then dies without sending (a SIGKILL between lease and send)."""
    for n in range(count):
        await kefu.inbox.put(
            RawInput(
                channel=Channel.EMAIL,
                dedupe_key=f"lease{n}",
                raw=bytes(customer_mail(f"c{n}@dfmc-parts.cn", f"漏油 {n}", "漏油。", message_id=f"lease{n}@x.cn")),
                envelope_from=f"c{n}@dfmc-parts.cn",
                envelope_to=("service@kefu.example",),
            )
        )
    await kefu.processor.drain()
    while True:
        async with kefu.db.unit_of_work() as s:
            if not await kefu.dispatcher.fanout.run_once(s, kefu.clock()):
                break
    leased = await kefu.dispatcher._lease(100)
    assert leased is not None
    return leased[0]


async def _sent(kefu: Kefu, ids: list[int]) -> bool:
    async with kefu.db.reader() as s:
        statuses = (await s.execute(select(Delivery.status).where(Delivery.id.in_(ids)))).scalars().all()
    return all(status == "sent" for status in statuses)


async def test_a_restart_sends_its_dead_predecessors_leased_notices_at_once(kefu: Kefu, settings: Settings) -> None:
    ids = await _leased_acknowledgements(kefu, 20)
    assert ids and not await _sent(kefu, ids)
    restarted = bootstrap(settings, transport=ListTransport(), poll_seconds=0.2)  # the same instance id
    started = time.monotonic()
    task = asyncio.create_task(restarted.dispatcher.run())
    try:
        await eventually(lambda: _sent(restarted, ids), timeout=10, what="the leased notices to go out")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await restarted.db.dispose()
    assert time.monotonic() - started < 10  # not the 5-minute lease


async def test_the_leases_of_an_instance_whose_heartbeat_is_stale_are_taken_back(
    kefu: Kefu, settings: Settings
) -> None:
    ids = await _leased_acknowledgements(kefu, 5)
    dead, alive = ids[:3], ids[3:]
    now = kefu.clock()
    async with kefu.db.unit_of_work() as s:
        s.add(Instance(id="gone", host="elsewhere", pid=1, started_at=now, heartbeat_at=now - timedelta(minutes=2)))
        s.add(Instance(id="alive", host="elsewhere", pid=2, started_at=now, heartbeat_at=now))
        await s.execute(update(Delivery).where(Delivery.id.in_(dead)).values(leased_by="gone"))
        await s.execute(update(Delivery).where(Delivery.id.in_(alive)).values(leased_by="alive"))
    other = bootstrap(replace(settings, instance_id="other"), transport=ListTransport(), poll_seconds=0.2)
    try:
        assert await other.dispatcher.leases.beat() == len(dead)
        assert await other.dispatcher.leases.beat() == 0  # taken once
        await other.dispatcher.run_once()
        assert await _sent(other, dead)
        assert not await _sent(other, alive)  # a live instance keeps its leases
        async with other.db.reader() as s:
            instances = set((await s.execute(select(Instance.id))).scalars())
        assert instances == {"alive", "other"}
    finally:
        await other.db.dispose()


def test_the_instance_id_is_kept_in_the_data_folder(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).with_instance_id()
    assert first.instance_id and (tmp_path / "instance_id").read_text().strip() == first.instance_id
    assert Settings(data_dir=tmp_path).with_instance_id().instance_id == first.instance_id
    assert Settings(data_dir=tmp_path, instance_id="named").with_instance_id().instance_id == "named"
