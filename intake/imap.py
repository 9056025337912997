"""The IMAP mailbox poller: a service mailbox feeds cases the way SMTP intake does.

For each new mail, in this order (intake rules): look at its size (RFC822.SIZE) and report
it instead if it is too large; fetch it with BODY.PEEK[]; `Inbox.put` it and wait for the
commit; only then flag it (or move it); then move the folder's cursor. A crash between the
commit and the flag reads the mail again on the next start and the inbox's dedupe key
(intake/mailkey.py, the same as SMTP's) stores nothing new: one case (Zammad #1662).

IDLE when the server offers it (re-issued every few minutes), polling otherwise; a dropped
connection is retried with exponential backoff; a wrong password or a certificate we cannot
verify is logged, shown on GET /api/v1/health, and touches no mail. The blocking imapclient
calls run in a worker thread (intake/imap_client.py) and hand back plain data.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from enum import StrEnum
from typing import Any

from cases.domain.clock import Clock
from cases.domain.enums import Channel
from cases.domain.meter import NO_METER, Meter, Tally
from cases.store.faults import is_transient
from intake.imap_client import FolderState, ImapDropped, ImapMailbox, ImapSetupError
from intake.imap_config import ImapConfig
from intake.imap_cursor import Cursor, CursorStore
from intake.imap_oversize import Oversized, OversizeReporter
from intake.inbox import Inbox, RawInput
from intake.mailkey import dedupe_key

log = logging.getLogger(__name__)

BACKOFF_FIRST_SECONDS = 1.0
STORE_TRIES = 3  # refusals of one mail by the database before it is set aside
BACKOFF_MAX_SECONDS = 300.0
STOP_GRACE_SECONDS = 5.0


class ImapState(StrEnum):
    STARTING = "starting"
    CONNECTING = "connecting"
    RUNNING = "running"
    RECONNECTING = "reconnecting"  # the connection dropped; trying again with backoff
    ERROR = "error"  # needs a person: login, certificate, STARTTLS, folder
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CheckResult:
    stored: int  # new rows in the inbox
    duplicates: int  # already stored (a crash before the flag, a rebuilt folder, SMTP first)
    oversized: int


def envelope_sender(raw: bytes) -> str:
    """IMAP has no envelope: the delivering MTA wrote it into Return-Path ("" for <>, RFC 5321
    4.4); without one, the From address stands in, so the loop rules see a real sender."""
    headers = BytesHeaderParser().parsebytes(raw[:65536])
    return_path = headers.get("Return-Path")
    if return_path is not None:
        found = getaddresses([str(return_path)])
        return found[0][1] if found else ""
    found = getaddresses([str(v) for v in headers.get_all("From", [])])
    return next((addr for _, addr in found if addr), "")


class ImapPoller:
    def __init__(
        self,
        config: ImapConfig,
        inbox: Inbox,
        cursors: CursorStore,
        reporter: OversizeReporter,
        clock: Clock,
        *,
        mailbox_factory: Callable[[ImapConfig], ImapMailbox] = ImapMailbox,
        use_idle: bool = True,
        meter: Meter = NO_METER,
    ) -> None:
        self.config = config
        self.meter = meter
        self.inbox = inbox
        self.cursors = cursors
        self.reporter = reporter
        self.clock = clock
        self.mailbox_factory = mailbox_factory
        self.use_idle = use_idle
        self._stop = threading.Event()  # read by the worker thread while it waits in IDLE
        self._task: asyncio.Task[None] | None = None
        self._state = ImapState.STARTING
        self._error: str | None = None
        self._mode: str | None = None
        self._last_check: str | None = None
        self._counts = {"stored": 0, "duplicates": 0, "oversized": 0, "set_aside": 0}
        self._refusals: dict[tuple[int, int], int] = {}  # (UIDVALIDITY, UID) -> refusals by the database

    def status(self) -> dict[str, Any]:
        """For GET /api/v1/health: plain data, no password, the user shortened."""
        return {
            "state": self._state.value,
            "error": self._error,
            "mailbox": self.config.label,
            "mode": self._mode,
            "last_check": self._last_check,
            **self._counts,
        }

    def _set(self, state: ImapState, error: str | None = None) -> None:
        self._state, self._error = state, error

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self.run(), name="imap-poller")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:  # let the worker thread end its IDLE and log out; then cut it short
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE_SECONDS)
            except TimeoutError:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
            except Exception:
                log.exception("imap %s: poller ended with an error", self.config.label)
            self._task = None
        self._set(ImapState.STOPPED)

    async def run(self) -> None:
        delay = BACKOFF_FIRST_SECONDS
        while not self._stop.is_set():
            mailbox = self.mailbox_factory(self.config)
            try:
                self._set(ImapState.CONNECTING, self._error)
                folder = await asyncio.to_thread(mailbox.connect)
                self._set(ImapState.RUNNING)
                delay = BACKOFF_FIRST_SECONDS
                log.info(
                    "imap %s: connected (UIDVALIDITY %d, %s)",
                    self.config.label,
                    folder.uidvalidity,
                    "IDLE" if folder.idle and self.use_idle else f"polling every {self.config.poll_seconds:g} s",
                )
                await self._session(mailbox, folder)
            except ImapSetupError as exc:
                self._set(ImapState.ERROR, exc.reason)
                log.error(
                    "imap %s: %s; no mail is read or changed until this is fixed (retry in %.0f s)",
                    self.config.label,
                    exc,
                    delay,
                )
            except ImapDropped as exc:
                self._set(ImapState.RECONNECTING, str(exc)[:200])
                log.warning("imap %s: connection lost (%s); reconnecting in %.0f s", self.config.label, exc, delay)
            except Exception as exc:  # our fault (the database, a bug): keep the mailbox as it is, retry
                self._set(ImapState.RECONNECTING, f"{type(exc).__name__}: {exc}"[:200])
                log.exception("imap %s: check failed; retrying in %.0f s", self.config.label, delay)
            finally:
                await asyncio.to_thread(mailbox.close)
            if self._stop.is_set():
                break
            await self._sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_SECONDS)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once on stop()."""
        await asyncio.to_thread(self._stop.wait, seconds)

    async def _session(self, mailbox: ImapMailbox, folder: FolderState) -> None:
        idle = folder.idle and self.use_idle
        self._mode = "idle" if idle else "poll"
        while not self._stop.is_set():
            await self.check(mailbox, folder)
            if idle:
                await asyncio.to_thread(mailbox.wait_idle, self.config.idle_seconds, self._stop)
            else:
                await self._sleep(self.config.poll_seconds)
            if not self._stop.is_set():
                folder = await asyncio.to_thread(mailbox.current)  # rebuilt meanwhile?

    async def check(self, mailbox: ImapMailbox, folder: FolderState) -> CheckResult:
        """One pass over the folder: everything above the cursor, oldest first."""
        key, label = self.config.cursor_key, self.config.label
        saved = await self.cursors.load(key)
        cursor = saved.under(folder.uidvalidity) if saved else Cursor(folder.uidvalidity, 0)
        if saved and saved.uidvalidity != folder.uidvalidity:
            log.warning(
                "imap %s: UIDVALIDITY changed %d -> %d (the folder was rebuilt); reading it again, "
                "mail stored before opens no new case",
                label,
                saved.uidvalidity,
                folder.uidvalidity,
            )
        uids = await asyncio.to_thread(mailbox.new_uids, cursor.last_uid)
        stored = duplicates = oversized = 0
        if uids:
            sizes = await asyncio.to_thread(mailbox.sizes, uids)
            for uid in uids:
                if self._stop.is_set():
                    break
                size = sizes.get(uid)
                if size is None:
                    pass  # expunged meanwhile
                elif size > self.config.max_message_bytes:
                    oversized += await self._report(mailbox, uid, size)
                else:
                    raw = await asyncio.to_thread(mailbox.fetch, uid)
                    if raw is not None:
                        new = await self._store_or_set_aside(raw, folder.uidvalidity, uid)
                        stored, duplicates = stored + new, duplicates + (not new)
                        await asyncio.to_thread(mailbox.mark_imported, uid)  # only after the commit
                cursor = Cursor(folder.uidvalidity, uid)
                await self.cursors.save(key, cursor)
        if saved is None or saved != cursor:
            await self.cursors.save(key, cursor)
        self._last_check = self.clock().isoformat()
        for name, n in (("stored", stored), ("duplicates", duplicates), ("oversized", oversized)):
            self._counts[name] += n
        if stored or duplicates or oversized:
            log.info("imap %s: %d stored, %d already stored, %d too large", label, stored, duplicates, oversized)
        return CheckResult(stored, duplicates, oversized)

    async def _store_or_set_aside(self, raw: bytes, uidvalidity: int, uid: int) -> bool:
        """`_store`; a mail the database refuses for a reason of its own would be read again
        at every check and hold up every mail after it: after STORE_TRIES refusals it is kept
        quarantined with the reason (re-run like any quarantined mail) and the folder goes on.
        A lost connection is not the mail's fault: raised, the mail is read again later."""
        try:
            return await self._store(raw, uid)
        except Exception as exc:
            if is_transient(exc) or not await self.inbox.db.answers():
                raise
            key = (uidvalidity, uid)
            self._refusals[key] = tries = self._refusals.get(key, 0) + 1
            log.error(
                "imap %s UID %d: the database refused the mail (%d of %d): %s: %s",
                self.config.label,
                uid,
                tries,
                STORE_TRIES,
                type(exc).__name__,
                str(exc).splitlines()[0][:300] if str(exc) else "",
            )
            if tries < STORE_TRIES:
                raise
            message_id, key_text = dedupe_key(raw)
            row_id = await self.inbox.put_refused(
                RawInput(Channel.EMAIL, key_text, raw, message_id=message_id, envelope_from=envelope_sender(raw)),
                f"not stored: {type(exc).__name__}: {exc}",
            )
            del self._refusals[key]
            self._counts["set_aside"] += 1
            log.error("imap %s UID %d: set aside as quarantined inbound #%d", self.config.label, uid, row_id)
            return True

    async def _store(self, raw: bytes, uid: int) -> bool:
        message_id, key = dedupe_key(raw)
        self.meter.count(Tally.MAIL_RECEIVED, source="imap")
        result = await self.inbox.put(
            RawInput(
                channel=Channel.EMAIL,
                dedupe_key=key,
                raw=raw,
                message_id=message_id,
                envelope_from=envelope_sender(raw),
            )
        )
        log.info(
            "imap %s UID %d: %s <%s>",
            self.config.label,
            uid,
            "stored before" if result.duplicate else f"stored as inbound #{result.inbound_id}",
            message_id,
        )
        return not result.duplicate

    async def _report(self, mailbox: ImapMailbox, uid: int, size: int) -> int:
        header = await asyncio.to_thread(mailbox.header, uid) or b""
        item = Oversized(
            self.config.label, uid, size, self.config.max_message_bytes, header, envelope_sender(header + b"\r\n\r\n")
        )
        return int(await self.reporter.report(item))
