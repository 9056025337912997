"""The SMTP edge and the batch pipeline behind it, over real sockets and a real database:
recipients we do not serve are refused, 250 comes only after the commit, a database failure is
a temporary 451, and a batch of mixed mail (new senders, replies, Chinese charsets, broken
MIME) becomes cases with gapless references, parsed inline or by worker processes."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
from collections.abc import AsyncIterator
from dataclasses import replace
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import Attachment, Case, CaseMessage, Contact, InboundMessage, InboundRaw, ReferenceCounter
from kefu.bootstrap import Kefu, bootstrap
from kefu.parts import ALL, Part, start
from tests.conftest import ListTransport
from tests.databases import migrated
from tests.mailhelpers import customer_mail, eventually, smtp_send
from tests.served import served


@pytest.fixture(params=[0, 1], ids=["inline", "workers"])
async def running(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False, parse_workers=request.param) as kefu:
        yield kefu


@pytest.fixture(params=[0, 1], ids=["inline", "workers"])
async def paused(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Kefu]:
    """SMTP intake without the workers: mail piles up until the test runs a batch itself."""
    async with served(settings, transport=ListTransport(), parts={Part.SMTP}, parse_workers=request.param) as kefu:
        yield kefu


async def _count(kefu: Kefu, model: type, *where: object) -> int:
    async with kefu.db.reader() as s:
        return (await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one()  # type: ignore[arg-type]


def _session(port: int) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=10)
    client.ehlo("client.example")
    return client


async def test_a_recipient_that_is_not_ours_is_refused_with_550(running: Kefu) -> None:
    port = running.settings.smtp_listen[1]

    def talk() -> tuple[tuple[int, bytes], tuple[int, bytes], tuple[int, bytes]]:
        with _session(port) as c:
            c.mail("someone@example.cn")
            return (
                c.rcpt("postmaster@elsewhere.example"),
                c.rcpt("sales@kefu.example"),
                c.rcpt("service+x@kefu.example"),
            )

    foreign, other_local, ours = await asyncio.to_thread(talk)
    assert foreign[0] == 550 and b"5.1.1" in foreign[1]
    assert other_local[0] == 550
    assert ours[0] == 250


async def test_250_is_answered_only_after_the_raw_mail_is_committed(running: Kefu) -> None:
    msg = customer_mail(
        "李娜 <li.na@chery-parts.cn>",
        "转向器漏油",
        "批次 B2026-0311，三台车漏油。",
        message_id="commit1@chery-parts.cn",
    )
    await smtp_send(running.settings.smtp_listen[1], msg)
    # The SMTP transaction is over: the raw bytes are already on disk, whatever happens next.
    async with running.db.reader() as s:
        raw = (
            await s.execute(
                select(InboundRaw.raw)
                .join(InboundMessage, InboundMessage.id == InboundRaw.inbound_id)
                .where(InboundMessage.message_id == "commit1@chery-parts.cn")
            )
        ).scalar_one()
    assert "转向器漏油".encode() in raw or b"=?utf-8?" in raw.lower()


async def test_the_same_mail_sent_twice_is_acknowledged_twice_and_stored_once(running: Kefu) -> None:
    msg = customer_mail(
        "wang@dfmc-parts.cn", "Re-sent complaint", "Sent again after a lost 250.", message_id="twice@dfmc-parts.cn"
    )
    port = running.settings.smtp_listen[1]
    await asyncio.gather(smtp_send(port, msg), smtp_send(port, msg))  # often in one group commit
    await smtp_send(port, msg)
    await eventually(lambda: _count(running, Case), what="the case")
    await running.processor.drain()
    assert await _count(running, InboundMessage) == 1
    assert await _count(running, Case) == 1


async def test_a_database_failure_is_a_temporary_451_and_the_retry_is_stored(settings: Settings) -> None:
    await migrated(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=ListTransport(), poll_seconds=0.2)
    started = await start(kefu, ALL - {Part.WEB})
    port = settings.smtp_listen[1]
    real = kefu.inbox._store_batch

    async def broken(batch):  # type: ignore[no-untyped-def]
        raise OSError("disk I/O error")

    try:
        kefu.inbox._store_batch = broken  # type: ignore[method-assign]
        msg = customer_mail("zhao@faw-parts.cn", "离合器打滑", "离合器打滑。", message_id="retry@faw-parts.cn")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await smtp_send(port, msg)
        assert refused.value.smtp_code == 451  # temporary: the sender keeps the mail and retries
        kefu.inbox._store_batch = real  # type: ignore[method-assign]
        await smtp_send(port, msg)
        assert await _count(kefu, InboundMessage) == 1
    finally:
        await started.stop()


@pytest.mark.parametrize(
    ("refused", "tries"),
    [
        ({2}, [1, 5, 1, 1, 1, 1, 1]),  # the five together, then each alone
        ({0, 1, 2, 3, 4}, [1, 5, 1, 1]),  # two failures alone in a row: the database is away, the rest fail at once
    ],
    ids=["one refused", "database away"],
)
async def test_a_mail_the_database_refuses_gets_451_alone_and_the_rest_of_its_group_commit_is_stored(
    settings: Settings, refused: set[int], tries: list[int]
) -> None:
    """A group commit that fails is retried input by input, so one mail the database refuses
    does not turn away the other senders of its batch."""
    await migrated(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=ListTransport(), poll_seconds=0.2)
    started = await start(kefu, ALL - {Part.WEB})
    port = settings.smtp_listen[1]
    real = kefu.inbox._store_batch
    sizes: list[int] = []

    async def refusing(batch):  # type: ignore[no-untyped-def]
        sizes.append(len(batch))
        if len(sizes) == 1:  # the first mail's store waits until the five others queue up behind it
            await eventually(lambda: kefu.inbox._queue.qsize() == 5, what="five mails waiting for the store")
        if any(b"POISON" in p.item.raw for p in batch):
            raise ValueError("value refused by the database")
        return await real(batch)

    kefu.inbox._store_batch = refusing  # type: ignore[method-assign]
    try:
        first = asyncio.ensure_future(
            smtp_send(port, customer_mail("c@faw-parts.cn", "离合器打滑", "打滑。", message_id="first@faw-parts.cn"))
        )
        await eventually(lambda: sizes == [1], what="the first mail in the store")
        mails = [
            customer_mail(
                f"c{n}@faw-parts.cn",
                "离合器打滑",
                "POISON" if n in refused else "打滑。",
                message_id=f"g{n}@faw-parts.cn",
            )
            for n in range(5)
        ]
        answers = await asyncio.gather(*(smtp_send(port, m) for m in mails), return_exceptions=True)
        await first
        assert [isinstance(a, smtplib.SMTPDataError) and a.smtp_code == 451 for a in answers] == [
            n in refused for n in range(5)
        ]
        assert sizes == tries
        async with kefu.db.reader() as s:
            stored = set((await s.execute(select(InboundMessage.message_id))).scalars())
        assert stored == {"first@faw-parts.cn"} | {f"g{n}@faw-parts.cn" for n in range(5) if n not in refused}
    finally:
        await started.stop()


async def test_a_mixed_batch_becomes_cases_with_gapless_references(paused: Kefu) -> None:
    """New senders (one twice), a reply by Message-ID, GBK-only characters declared gb2312 and
    a broken MIME boundary, all in one processing batch."""
    port = paused.settings.smtp_listen[1]
    first = customer_mail(
        "陈刚 <chen@dfmc-parts.cn>", "减震器异响", "零件号：2905-001\n异响。", message_id="b1@dfmc-parts.cn"
    )
    await smtp_send(port, first)
    await smtp_send(
        port, customer_mail("陈刚 <chen@dfmc-parts.cn>", "另一个问题", "雨刮器不回位。", message_id="b2@dfmc-parts.cn")
    )
    await smtp_send(
        port,
        customer_mail(
            "chen@dfmc-parts.cn",
            "Re: 减震器异响",
            "补充照片稍后发送。",
            message_id="b3@dfmc-parts.cn",
            in_reply_to="b1@dfmc-parts.cn",
        ),
    )
    gbk = (
        (
            b"From: =?gb2312?B?1cXI/Q==?= <zhang.san@example.cn>\r\nTo: service@kefu.example\r\n"
            b"Subject: =?gb2312?B?sarJ/A==?=\r\nMessage-ID: <b4@example.cn>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        )
        + "镕铸件批次–B7 裂纹".encode("gb18030")
        + b"\r\n"
    )
    await smtp_send(port, gbk)
    broken = (
        b"From: ops@fleet.example\r\nTo: service@kefu.example\r\nSubject: broken boundary\r\n"
        b"Message-ID: <b5@fleet.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="nothere"\r\n\r\n'
        b"--wrong\r\nContent-Type: text/plain\r\n\r\nBrake hose cracked on 12 trucks.\r\n--wrong--\r\n"
    )
    await smtp_send(port, broken)
    assert await _count(paused, InboundMessage, InboundMessage.status == "pending") == 5

    result = await paused.processor.process_batch()
    assert (result.processed, result.quarantined) == (5, 0)
    async with paused.db.reader() as s:
        refs = sorted((await s.execute(select(Case.reference))).scalars())
        counter = (await s.execute(select(ReferenceCounter.last_value))).scalar_one()
        contacts = (await s.execute(select(func.count()).select_from(Contact))).scalar_one()
        bodies = list((await s.execute(select(CaseMessage.body).order_by(CaseMessage.id))).scalars())
    year = refs[0].split("-")[1]
    assert refs == [f"FB-{year}-{n:06d}" for n in range(1, 5)]  # 4 cases: the reply joined b1's
    assert counter == 4  # the numbers the batch reserved but did not use were given back
    assert contacts == 3  # one contact for 陈刚's two mails and reply
    assert any("镕铸件批次–B7" in b for b in bodies) and not any("\ufffd" in b for b in bodies)
    assert any("Brake hose cracked" in b for b in bodies)

    await smtp_send(port, customer_mail("new@fleet.example", "Next", "Next batch.", message_id="b6@fleet.example"))
    await paused.processor.process_batch()
    async with paused.db.reader() as s:
        assert f"FB-{year}-000005" in set((await s.execute(select(Case.reference))).scalars())


async def test_the_replies_of_a_batch_find_their_cases_in_a_few_queries_not_one_per_reply(paused: Kefu) -> None:
    """The cases that a batch's replies name by Message-ID are looked up for the whole batch;
    a reply that names two cases joins the one its In-Reply-To names."""
    from sqlalchemy import event

    from cases.search.index import MARK

    port = paused.settings.smtp_listen[1]
    for n in range(12):
        await smtp_send(
            port, customer_mail(f"c{n}@dfmc-parts.cn", f"问题 {n}", "漏油。", message_id=f"m{n}@dfmc-parts.cn")
        )
    await smtp_send(
        port, customer_mail("late@dfmc-parts.cn", "问题 late", "漏油。", message_id="z-later@dfmc-parts.cn")
    )
    assert (await paused.processor.process_batch()).processed == 13
    for n in range(12):
        await smtp_send(
            port,
            customer_mail(
                f"c{n}@dfmc-parts.cn",
                f"Re: 问题 {n}",
                f"补充 {n}。",
                message_id=f"r{n}@dfmc-parts.cn",
                in_reply_to=f"m{n}@dfmc-parts.cn",
            ),
        )
    await smtp_send(
        port,
        customer_mail(
            "late@dfmc-parts.cn",
            "Re: 问题 late",
            "补充 late。",
            message_id="r-late@dfmc-parts.cn",
            headers={
                "In-Reply-To": "<z-later@dfmc-parts.cn>",
                "References": "<m0@dfmc-parts.cn> <z-later@dfmc-parts.cn>",
            },
        ),
    )
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    engine = paused.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        result = await paused.processor.process_batch()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert (result.processed, result.quarantined) == (13, 0)
    # The search index reads the batch's cases back once, three statements (cases/search/index.py).
    index_reads = [s for s in statements if s.startswith(f"SELECT {MARK}")]
    assert len(index_reads) == 3, index_reads
    statements = [s for s in statements if s not in index_reads]
    assert len([s for s in statements if "FROM case_messages" in s]) == 1, statements
    assert len([s for s in statements if s.lstrip().startswith("SELECT cases.")]) == 1, statements
    async with paused.db.reader() as s:
        joined = dict(
            (
                await s.execute(
                    select(CaseMessage.message_id, Case.subject)
                    .join(Case, Case.id == CaseMessage.case_id)
                    .where(CaseMessage.message_id.like("r%"))
                )
            ).all()
        )
    assert await _count(paused, Case) == 13
    assert joined == {**{f"r{n}@dfmc-parts.cn": f"问题 {n}" for n in range(12)}, "r-late@dfmc-parts.cn": "问题 late"}


async def test_a_parse_worker_that_dies_delays_mail_but_loses_none(settings: Settings) -> None:
    settings = replace(settings, parse_workers=1)
    await migrated(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=ListTransport(), poll_seconds=0.2)
    await seed_departments(kefu.db)
    started = await start(kefu, {Part.SMTP})  # no workers: the test runs each batch itself
    try:
        port = settings.smtp_listen[1]
        for n in range(3):
            await smtp_send(
                port, customer_mail(f"c{n}@dfmc-parts.cn", f"问题 {n}", "漏油。", message_id=f"w{n}@dfmc-parts.cn")
            )
        await kefu.processor.process_batch()  # starts the worker
        for pid in list(kefu.processor.pool._executor()._processes):
            os.kill(pid, signal.SIGKILL)
        for n in range(3, 6):
            await smtp_send(
                port, customer_mail(f"c{n}@dfmc-parts.cn", f"问题 {n}", "漏油。", message_id=f"w{n}@dfmc-parts.cn")
            )
        await kefu.processor.drain()
        assert await _count(kefu, Case) == 6
        assert await _count(kefu, InboundMessage, InboundMessage.status == "pending") == 0
    finally:
        await started.stop()


async def test_the_next_batch_is_handed_to_the_parse_workers_before_this_one_is_written(settings: Settings) -> None:
    """drain overlaps parsing and writing: on SQLite a batch's write first yields at its commit,
    so the next batch must be on its way to the workers before the write begins."""
    async with served(settings, transport=ListTransport(), parts={Part.SMTP}, parse_workers=1) as kefu:
        for n in range(6):
            await smtp_send(
                kefu.settings.smtp_listen[1],
                customer_mail(f"c{n}@dfmc-parts.cn", f"问题 {n}", "漏油。", message_id=f"o{n}@dfmc-parts.cn"),
            )
        processor, pool = kefu.processor, kefu.processor.pool
        processor.batch_size = 2
        order: list[tuple[str, int]] = []
        prepare, write = pool.prepare, processor._write

        async def recorded_prepare(rows):  # type: ignore[no-untyped-def]
            order.append(("parse", rows[0].inbound_id))
            return await prepare(rows)

        async def recorded_write(prepared):  # type: ignore[no-untyped-def]
            order.append(("write", prepared[0].inbound_id))
            return await write(prepared)

        pool.prepare, processor._write = recorded_prepare, recorded_write  # type: ignore[method-assign]
        assert (await processor.drain()).processed == 6
        firsts = sorted({first for _, first in order})
        assert [kind for kind, _ in order] == ["parse", "parse", "write", "parse", "write", "write"], order
        assert order == [
            ("parse", firsts[0]),
            ("parse", firsts[1]),
            ("write", firsts[0]),
            ("parse", firsts[2]),
            ("write", firsts[1]),
            ("write", firsts[2]),
        ]
        assert await _count(kefu, Case) == 6


async def test_a_small_next_batch_waits_for_more_mail_but_a_lone_mail_does_not_wait(settings: Settings) -> None:
    """While a batch is written, a next batch under half the batch size waits gather_seconds
    and takes what came meanwhile; the first batch of a round never waits."""
    async with served(settings, transport=ListTransport(), parts={Part.SMTP}) as kefu:
        port = kefu.settings.smtp_listen[1]
        processor = kefu.processor
        processor.batch_size, processor.gather_seconds = 10, 5.0

        def mail(n: int) -> EmailMessage:
            return customer_mail(f"c{n}@dfmc-parts.cn", f"问题 {n}", "漏油。", message_id=f"g{n}@dfmc-parts.cn")

        await smtp_send(port, mail(0))
        started = asyncio.get_running_loop().time()
        assert (await processor.drain()).processed == 1
        assert asyncio.get_running_loop().time() - started < processor.gather_seconds

        processor.gather_seconds = 1.0
        for n in range(1, 13):  # a full batch of 10, then 2
            await smtp_send(port, mail(n))
        sizes: list[int] = []
        write = processor._write

        async def recorded_write(prepared):  # type: ignore[no-untyped-def]
            sizes.append(len(prepared))
            result = await write(prepared)
            if len(sizes) == 1:  # mail that comes while the next batch of 2 waits
                for n in range(13, 16):
                    await smtp_send(port, mail(n))
            return result

        processor._write = recorded_write  # type: ignore[method-assign]
        assert (await processor.drain()).processed == 15
        assert sizes == [10, 5]
        assert await _count(kefu, Case) == 16


def test_the_parse_workers_fallback_watch_tells_a_live_process_from_an_ended_one() -> None:
    """Where pidfd_open is missing, a worker polls kefu's process (intake/parse_pool.py)."""
    import subprocess
    import sys

    from intake.parse_pool import _alive

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert _alive(os.getpid()) and not _alive(ended.pid)


async def test_an_idle_smtp_session_does_not_hold_the_shutdown(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kefu.parts.SMTP_CLOSE_SECONDS", 0.5)
    await migrated(settings.sqlalchemy_url)
    kefu = bootstrap(settings, transport=ListTransport(), poll_seconds=0.2)
    started = await start(kefu, ALL - {Part.WEB})
    reader, writer = await asyncio.open_connection(*settings.smtp_listen)
    assert (await reader.readline()).startswith(b"220")
    try:
        await asyncio.wait_for(started.stop(), 10)  # the client never says QUIT
    finally:
        writer.close()


async def test_hard_chinese_mail_arrives_readable_through_smtp_into_cases(running: Kefu) -> None:
    """Raw 8-bit GBK headers, a part that says utf-8 but is GBK, HTML only, and an attachment
    named ../../etc/passwd: each a case, readable, no replacement characters, nothing lost."""
    port = running.settings.smtp_listen[1]
    mails = {
        "h1@example.cn": b"From: " + "王芳".encode("gbk") + b" <wang.fang@example.cn>\r\nTo: service@kefu.example\r\n"
        b"Subject: " + "刹车盘裂纹".encode("gbk") + b"\r\nMessage-ID: <h1@example.cn>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=gbk\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "批次B3裂纹。".encode("gbk"),
        "h2@example.cn": b"From: li@example.cn\r\nTo: service@kefu.example\r\nSubject: wrong charset\r\n"
        b"Message-ID: <h2@example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + "请尽快处理减震器漏油问题，谢谢。".encode("gb18030"),
        "h3@example.cn": b"From: zhou@example.cn\r\nTo: service@kefu.example\r\nSubject: html only\r\n"
        b"Message-ID: <h3@example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        + "<html><body><p>转向拉杆<b>断裂</b></p><script>alert(1)</script></body></html>".encode(),
        "h4@example.cn": b"From: sun@example.cn\r\nTo: service@kefu.example\r\nSubject: attachment\r\n"
        b"Message-ID: <h4@example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n"
        b"--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + "见附件".encode() + b"\r\n--xx\r\n"
        b'Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="../../etc/passwd"\r\n\r\n'
        b"root:x:0:0\r\n--xx--\r\n",
    }
    for mid, raw in mails.items():
        await smtp_send(port, raw, sender=mid.replace("h", "s", 1))

    async def done() -> bool:
        return await _count(running, InboundMessage, InboundMessage.status == "processed") == len(mails)

    await eventually(done, what="the four mails to become cases")
    async with running.db.reader() as s:
        rows = dict((await s.execute(select(CaseMessage.message_id, CaseMessage.body))).all())
        subjects = set((await s.execute(select(Case.subject))).scalars())
        names = list((await s.execute(select(Attachment.filename))).scalars())
        contacts = {c.name for c in (await s.execute(select(Contact))).scalars()}
    assert "刹车盘裂纹" in subjects and "王芳" in contacts
    assert "批次B3裂纹" in rows["h1@example.cn"]
    assert "减震器漏油" in rows["h2@example.cn"]
    assert (
        "转向拉杆" in rows["h3@example.cn"] and "断裂" in rows["h3@example.cn"] and "alert" not in rows["h3@example.cn"]
    )
    assert names == ["passwd"]
    assert not any("\ufffd" in body for body in rows.values())
