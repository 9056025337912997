"""The IMAP mailbox against a real Dovecot (tests/dovecot.py): its own instance on a loopback
port, with a temporary maildir. Skips, saying why, when dovecot-imapd is not installed."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from cases.services.users import seed_departments
from cases.settings import Settings
from cases.store.models import Case, InboundMessage, InboundRaw
from intake.imap import STORE_TRIES, ImapPoller
from intake.imap_client import FolderState, ImapMailbox
from intake.imap_config import ImapConfig, imap_config
from intake.imap_cursor import Cursor, CursorStore
from intake.imap_oversize import OversizeReporter
from kefu.bootstrap import Kefu, bootstrap
from kefu.parts import ALL, Part, Running, start
from tests.databases import migrated
from tests.dovecot import Dovecot, why_no_dovecot
from tests.mailhelpers import customer_mail, eventually

NO_DOVECOT = why_no_dovecot()
needs_dovecot = pytest.mark.skipif(NO_DOVECOT is not None, reason=NO_DOVECOT or "")
CUSTOMER = "li.na@faw-parts.cn"


def complaint(n: int = 1, body: str = "零件号：3501-00123\n批次：B2026-1107\n装车后刹车片异响。") -> bytes:
    return customer_mail(
        f"李娜 <{CUSTOMER}>", f"刹车片异响 {n}", body, message_id=f"complaint-{n}@faw-parts.cn"
    ).as_bytes()


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    server = Dovecot()
    try:
        yield server.start()
    finally:
        server.stop()


def poller(kefu: Kefu, url: str, factory: Any = ImapMailbox, **overrides: Any) -> ImapPoller:
    config = imap_config(replace(kefu.settings, imap_url=url, **overrides))
    assert config is not None
    return ImapPoller(
        config,
        kefu.inbox,
        CursorStore(kefu.db, kefu.clock),
        OversizeReporter(kefu.db, kefu.clock),
        kefu.clock,
        mailbox_factory=factory,
    )


async def one_check(p: ImapPoller) -> Any:
    """Connect, make one pass over the folder, log out."""
    mailbox = p.mailbox_factory(p.config)
    folder: FolderState = await asyncio.to_thread(mailbox.connect)
    try:
        return await p.check(mailbox, folder)
    finally:
        await asyncio.to_thread(mailbox.close)


async def count(kefu: Kefu, model: Any) -> int:
    async with kefu.db.reader() as s:
        return (await s.execute(select(func.count()).select_from(model))).scalar_one()


@needs_dovecot
async def test_a_complaint_appended_to_the_mailbox_becomes_one_case_and_is_flagged(
    kefu: Kefu, dovecot: Dovecot
) -> None:
    dovecot.append(complaint())
    p = poller(kefu, dovecot.url())
    result = await one_check(p)
    assert (result.stored, result.duplicates) == (1, 0)
    await kefu.processor.drain()
    assert await count(kefu, Case) == 1
    async with kefu.db.reader() as s:
        case = (await s.execute(select(Case))).scalar_one()
    assert case.channel == "email" and "刹车片异响" in case.subject
    assert set(dovecot.flags()[1]) >= {b"\\Seen", b"$KefuImported"}
    assert await CursorStore(kefu.db, kefu.clock).load(p.config.cursor_key) == Cursor(dovecot.uidvalidity(), 1)
    again = await one_check(p)  # nothing new: the cursor and the keyword both say so
    assert (again.stored, again.duplicates) == (0, 0) and await count(kefu, InboundMessage) == 1


@needs_dovecot
async def test_uid_search_past_the_newest_mail_is_filtered(dovecot: Dovecot) -> None:
    dovecot.append(complaint())  # UID 1, not flagged: `UID 6:*` still matches it (RFC 3501 6.4.8)
    config = imap_config(Settings(imap_url=dovecot.url()))
    assert config is not None
    mailbox = ImapMailbox(config)
    await asyncio.to_thread(mailbox.connect)
    try:
        assert 1 in await asyncio.to_thread(mailbox.client.search, ["UID", "6:*"])
        assert await asyncio.to_thread(mailbox.new_uids, 5) == []
        assert await asyncio.to_thread(mailbox.new_uids, 0) == [1]
    finally:
        await asyncio.to_thread(mailbox.close)


class CrashBeforeFlag(ImapMailbox):
    """kefu dies after the commit, before the flag reaches the server."""

    def mark_imported(self, uid: int) -> None:
        self.abort()
        raise SystemExit("killed between commit and flag")


@needs_dovecot
async def test_a_crash_between_commit_and_flag_opens_no_second_case(kefu: Kefu, dovecot: Dovecot) -> None:
    dovecot.append(complaint())
    with pytest.raises(SystemExit):
        await one_check(poller(kefu, dovecot.url(), CrashBeforeFlag))
    assert await count(kefu, InboundMessage) == 1  # committed ...
    assert b"\\Seen" not in dovecot.flags()[1]  # ... but not flagged, and the cursor did not move
    fresh = poller(kefu, dovecot.url())
    assert await CursorStore(kefu.db, kefu.clock).load(fresh.config.cursor_key) is None
    result = await one_check(fresh)  # the next start reads the mail again
    assert (result.stored, result.duplicates) == (0, 1)
    await kefu.processor.drain()
    assert await count(kefu, Case) == 1 and await count(kefu, InboundMessage) == 1
    assert b"$KefuImported" in dovecot.flags()[1]


@needs_dovecot
async def test_a_rebuilt_folder_with_a_new_uidvalidity_opens_no_second_case(kefu: Kefu, dovecot: Dovecot) -> None:
    mails = [complaint(1), complaint(2)]
    for raw in mails:
        dovecot.append(raw, "Service")
    p = poller(kefu, dovecot.url("Service"))
    assert (await one_check(p)).stored == 2
    old = dovecot.uidvalidity("Service")
    dovecot.rebuild("Service", [*mails, complaint(3)])  # restored from a backup, plus one new mail
    assert dovecot.uidvalidity("Service") != old
    result = await one_check(p)
    assert (result.stored, result.duplicates) == (1, 2)
    await kefu.processor.drain()
    assert await count(kefu, Case) == 3
    assert await p.cursors.load(p.config.cursor_key) == Cursor(dovecot.uidvalidity("Service"), 3)


@needs_dovecot
@pytest.mark.parametrize("idle", [True, False], ids=["idle", "poll"])
async def test_a_folder_rebuilt_while_the_poller_has_it_open_is_read_again(
    kefu: Kefu, dovecot: Dovecot, idle: bool
) -> None:
    """The folder is deleted and made again under the running poller's open session: the
    session fails, the poller reconnects, sees the new UIDVALIDITY and stores only the new mail."""
    mails = [complaint(1), complaint(2)]
    for raw in mails:
        dovecot.append(raw, "Service")
    p = poller(kefu, dovecot.url("Service"), imap_poll_seconds=0.2)
    p.config = replace(p.config, idle_seconds=1.0)  # the deleted folder's IDLE hears nothing: re-issued soon
    p.use_idle = idle
    await kefu.inbox.start()
    await p.start()
    try:
        await eventually(lambda: p.status()["stored"] == 2, 8, "the first pass")
        old = dovecot.uidvalidity("Service")
        dovecot.rebuild("Service", [*mails, complaint(3)])
        await eventually(lambda: p.status()["stored"] == 3, 10, "the new mail of the rebuilt folder")
        assert p.status()["duplicates"] == 2
    finally:
        await p.stop()
        await kefu.inbox.stop()
    await kefu.processor.drain()
    assert await count(kefu, Case) == 3
    assert await p.cursors.load(p.config.cursor_key) == Cursor(dovecot.uidvalidity("Service"), 3) != Cursor(old, 3)


@needs_dovecot
async def test_an_oversized_mail_is_reported_and_not_downloaded(kefu: Kefu, dovecot: Dovecot) -> None:
    dovecot.append(complaint(1, body="附件说明\n" + "X" * 20000))
    dovecot.append(complaint(2))
    p = poller(kefu, dovecot.url(), imap_max_message_bytes=4000)
    result = await one_check(p)
    # Dovecot's own account of the session: it sent far fewer bytes than the 20 kB body.
    session = [line for line in dovecot.log().splitlines() if "Disconnected: Logged out" in line][-1]
    sent = int(re.search(r" out=(\d+)", session).group(1))  # type: ignore[union-attr]
    assert sent < 8000, session
    assert (result.stored, result.oversized) == (1, 1)
    async with kefu.db.reader() as s:
        from cases.queries import operations as queries

        held = (await queries.held_inbound(s))["items"]
        raw = (await s.execute(select(InboundRaw.raw).where(InboundRaw.inbound_id == held[0]["id"]))).scalar_one()
    assert len(held) == 1 and held[0]["status"] == "quarantined" and held[0]["size"] > 20000
    assert "too large" in held[0]["reason"] and "邮件过大" in held[0]["reason"]
    assert b"XXXX" not in raw and held[0]["message_id"] == "complaint-1@faw-parts.cn"
    flags = dovecot.flags()
    assert b"\\Seen" not in flags[1] and b"\\Seen" in flags[2]  # left for a person in the mailbox
    assert (await one_check(p)).oversized == 0  # reported once


@needs_dovecot
async def test_imported_mail_can_be_moved_to_a_folder_instead_of_flagged(kefu: Kefu, dovecot: Dovecot) -> None:
    dovecot.append(complaint())
    p = poller(kefu, dovecot.url(), imap_move_to="Imported")
    assert (await one_check(p)).stored == 1
    assert dovecot.flags() == {} and len(dovecot.flags("Imported")) == 1  # moved, not deleted
    assert (await one_check(p)).stored == 0
    await kefu.processor.drain()
    assert await count(kefu, Case) == 1


@pytest.fixture
async def running(settings: Settings, dovecot: Dovecot) -> AsyncIterator[Any]:
    """kefu with its HTTP API; the test gives the IMAP URL."""
    started: list[Running] = []

    async def run(url: str, **overrides: Any) -> Kefu:
        s = replace(settings, imap_url=url, **overrides)
        await migrated(s.sqlalchemy_url)
        kefu = bootstrap(s, poll_seconds=0.2)
        await seed_departments(kefu.db)
        started.append(await start(kefu, ALL - {Part.SMTP}))
        return kefu

    yield run
    for one in started:
        await one.stop()


async def health(kefu: Kefu) -> dict[str, Any]:
    host, port = kefu.settings.http_listen
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/api/v1/health") as resp:
        assert resp.status == 200
        body: dict[str, Any] = await resp.json()
        return body


@needs_dovecot
async def test_idle_delivers_a_new_mail_within_seconds(running: Any, dovecot: Dovecot) -> None:
    kefu = await running(dovecot.url())
    await eventually(lambda: kefu.imap.status()["mode"] == "idle", 5, "IDLE")
    await asyncio.sleep(0.3)  # in IDLE now, not in the first pass
    appended = time.monotonic()
    dovecot.append(complaint())
    await eventually(lambda: count(kefu, Case), 5, "the case")
    assert time.monotonic() - appended < 4
    await eventually(lambda: kefu.imap.status()["stored"] == 1, 2, "the pass to end")
    body = await health(kefu)
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["imap"]["state"] == "running" and body["imap"]["stored"] == 1 and "s3cret" not in str(body)


@needs_dovecot
async def test_a_wrong_password_is_shown_on_health_and_touches_no_mail(running: Any, dovecot: Dovecot) -> None:
    dovecot.append(complaint())
    kefu = await running(dovecot.url(password="wrong"))
    await eventually(lambda: kefu.imap.status()["state"] == "error", 5, "the login error")
    body = await health(kefu)
    assert body["status"] == "ok" and body["imap"]["state"] == "error" and body["imap"]["error"] == "login failed"
    assert [f for f in dovecot.flags()[1] if f in (b"\\Seen", b"$KefuImported")] == []
    assert await count(kefu, InboundMessage) == 0


@needs_dovecot
async def test_polling_without_idle_and_reconnecting_after_a_dropped_connection(kefu: Kefu, dovecot: Dovecot) -> None:
    p = poller(kefu, dovecot.url(), imap_poll_seconds=0.2)
    p.use_idle = False
    await kefu.inbox.start()
    await p.start()
    try:
        await eventually(lambda: p.status()["mode"] == "poll" and p.status()["last_check"], 5, "a first poll")
        dovecot.kick()  # the server drops every session of the user
        await eventually(lambda: p.status()["state"] != "running", 5, "the drop to be seen")
        dovecot.append(complaint())
        await eventually(lambda: p.status()["stored"] == 1, 8, "the mail after reconnecting")
        assert p.status()["state"] == "running"
    finally:
        await p.stop()
        await kefu.inbox.stop()
    assert p.status()["state"] == "stopped"


@needs_dovecot
def test_imap_without_starttls_is_refused_before_login(dovecot: Dovecot) -> None:
    config = imap_config(Settings(imap_url=dovecot.url().replace("?starttls=never", "")))
    assert config is not None and config.starttls
    from intake.imap_client import ImapSetupError

    with pytest.raises(ImapSetupError, match="STARTTLS"):
        ImapMailbox(config).connect()
    assert "Login: user=" not in dovecot.log()


@pytest.mark.skipif(NO_DOVECOT is not None, reason=NO_DOVECOT or "")
def test_imaps_verifies_the_certificate_and_accepts_our_own_ca() -> None:
    from intake.imap_client import ImapSetupError

    server = Dovecot(tls=True).start()
    try:
        url = f"imaps://service:s3cret-pw@localhost:{server.tls_port}/INBOX"
        with pytest.raises(ImapSetupError) as failed:
            ImapMailbox(imap_config(Settings(imap_url=url))).connect()  # type: ignore[arg-type]
        assert failed.value.reason == "certificate verification failed"
        mailbox = ImapMailbox(imap_config(Settings(imap_url=url, imap_ca_file=server.ca_file)))  # type: ignore[arg-type]
        assert mailbox.connect().uidvalidity > 0
        mailbox.close()
    finally:
        server.stop()


def test_the_imap_url_is_read_strictly() -> None:
    from cases.settings import SettingsError

    c = imap_config(
        Settings.from_env(
            {
                "KEFU_IMAP_URL": "imaps://svc%40x.cn@mail.example.com/Service",
                "KEFU_IMAP_PASSWORD": "pw",
                "KEFU_IMAP_MOVE_TO": "Done",
            }
        )
    )
    assert c == ImapConfig(
        host="mail.example.com",
        port=993,
        username="svc@x.cn",
        password="pw",
        folder="Service",
        move_to="Done",
        poll_seconds=60.0,
        max_message_bytes=25 * 1024 * 1024,
    )
    assert imap_config(Settings()) is None
    plain = imap_config(Settings(imap_url="imap://u:p@mail.example.com"))
    assert plain is not None and (plain.port, plain.starttls, plain.folder) == (143, True, "INBOX")
    for url, message in [
        ("imap://u:p@mail.example.com/?starttls=never", "loopback"),
        ("imaps://u:p@127.0.0.1/?starttls=never", "loopback"),
        ("imap://u@mail.example.com/", "password"),
        ("pop3://u:p@x/", "imaps://"),
        ("imap://u:p@x/?tls=off", "unknown"),
    ]:
        with pytest.raises(SettingsError, match=message):
            imap_config(Settings(imap_url=url))
    with pytest.raises(SettingsError, match="KEFU_IMAP_CA_FILE"):
        imap_config(Settings(imap_url="imaps://u:p@x/", imap_ca_file="/nonexistent/ca.pem"))


@needs_dovecot
async def test_a_mail_the_database_refuses_is_set_aside_after_a_few_tries_and_the_next_is_stored(
    kefu: Kefu, dovecot: Dovecot
) -> None:
    dovecot.append(complaint(1))
    dovecot.append(complaint(2))
    real = kefu.inbox._store_batch

    async def refuse_the_first(batch):  # type: ignore[no-untyped-def]
        if any(b"complaint-1@" in p.item.raw for p in batch):
            raise ValueError("value out of range for the column")  # the mail's own fault, not the database's
        return await real(batch)

    kefu.inbox._store_batch = refuse_the_first  # type: ignore[method-assign]
    p = poller(kefu, dovecot.url())
    mailbox = p.mailbox_factory(p.config)
    folder: FolderState = await asyncio.to_thread(mailbox.connect)
    try:
        for _ in range(STORE_TRIES - 1):
            with pytest.raises(ValueError):
                await p.check(mailbox, folder)  # the session reconnects and reads it again
        result = await p.check(mailbox, folder)
    finally:
        await asyncio.to_thread(mailbox.close)
    assert result.stored == 2 and p.status()["set_aside"] == 1
    async with kefu.db.reader() as s:
        rows = (await s.execute(select(InboundMessage).order_by(InboundMessage.id))).scalars().all()
    assert [r.status for r in rows] == ["quarantined", "pending"]
    assert rows[0].reason is not None and "value out of range" in rows[0].reason
    assert b"$KefuImported" in dovecot.flags()[1] and b"$KefuImported" in dovecot.flags()[2]

    kefu.inbox._store_batch = real  # type: ignore[method-assign]
    await kefu.processor.rerun(rows[0].id)  # re-run like any quarantined mail
    await kefu.processor.drain()
    assert await count(kefu, Case) == 2
