"""Several instances side by side on one PostgreSQL database: each takes mail on its own SMTP
port, they share the processing and the notifications (FOR UPDATE SKIP LOCKED), and every mail
becomes exactly one case message, with references unique and without gaps, and every
acknowledgement is sent once."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from cases.settings import Settings
from cases.store.models import Case, CaseMessage, Delivery, InboundMessage
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
