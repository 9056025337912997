"""The blocking side of the IMAP mailbox: one imapclient connection, run in a worker thread.

Everything here is called through `asyncio.to_thread` by intake/imap.py, one call at a time,
and returns plain data (ints, bytes, dicts). Nothing here touches the database. Mail is read
with `BODY.PEEK[]` so that reading alone changes no flag (RFC 3501 6.4.5); flags are set or
the mail is moved only by `mark_imported`, which the poller calls after the commit.
"""

from __future__ import annotations

import imaplib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from intake.imap_config import DEFAULT_FLAGS, IMPORTED_KEYWORD, ImapConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

FETCH_CHUNK = 200  # UIDs per RFC822.SIZE fetch
IDLE_SLICE_SECONDS = 0.5  # how often a waiting IDLE looks at the stop flag (bounds stop())


class ImapSetupError(Exception):
    """Needs a person: wrong password, a certificate we cannot verify, no STARTTLS, no folder.
    `reason` is short and fixed (health shows it); str() has the details for the log."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class ImapDropped(Exception):
    """The connection broke or the server answered oddly: reconnect with backoff."""


@dataclass(frozen=True, slots=True)
class FolderState:
    uidvalidity: int
    idle: bool  # the server offers IDLE (RFC 2177)


def _abort_errors() -> tuple[type[BaseException], ...]:
    return (OSError, socket.timeout, imaplib.IMAP4.abort, IMAPClientError)


class ImapMailbox:
    """One session with the mailbox. Not thread-safe: the poller calls it one step at a time."""

    def __init__(self, config: ImapConfig) -> None:
        self.config = config
        self._client: IMAPClient | None = None
        self._flags: tuple[str, ...] = DEFAULT_FLAGS

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise ImapDropped("not connected")
        return self._client

    def connect(self) -> FolderState:
        c = self.config
        try:
            client = IMAPClient(
                c.host,
                c.port,
                ssl=c.implicit_tls,
                ssl_context=c.ssl_context() if c.implicit_tls else None,
                timeout=c.timeout_seconds,
            )
        except ssl.SSLCertVerificationError as exc:
            raise ImapSetupError("certificate verification failed", str(exc)) from None
        except ssl.SSLError as exc:
            raise ImapSetupError("TLS handshake failed", str(exc)) from None
        except (OSError, IMAPClientError) as exc:
            raise ImapDropped(f"cannot connect to {c.host}:{c.port}: {exc}") from None
        self._client = client
        try:
            if not c.implicit_tls and c.starttls:
                if not client.has_capability("STARTTLS"):
                    raise ImapSetupError(
                        "the server offers no STARTTLS",
                        "use imaps:// or a server with STARTTLS; we do not log in in clear",
                    )
                client.starttls(c.ssl_context())
            client.login(c.username, c.password)
            if c.move_to and not client.folder_exists(c.move_to):
                try:
                    client.create_folder(c.move_to)
                except imaplib.IMAP4.abort:
                    raise
                except IMAPClientError as exc:  # a name the server refuses: a person must pick another
                    raise ImapSetupError("cannot create the folder for imported mail", f"{c.move_to}: {exc}") from None
            if not client.folder_exists(c.folder):
                raise ImapSetupError("folder not found", c.folder)
            return self._select(client)
        except ImapSetupError:
            self.abort()
            raise
        except LoginError as exc:
            self.abort()
            raise ImapSetupError("login failed", str(exc)) from None
        except ssl.SSLCertVerificationError as exc:
            self.abort()
            raise ImapSetupError("certificate verification failed", str(exc)) from None
        except ssl.SSLError as exc:
            self.abort()
            raise ImapSetupError("TLS handshake failed", str(exc)) from None
        except _abort_errors() as exc:
            self.abort()
            raise ImapDropped(f"{type(exc).__name__}: {exc}") from None

    def _select(self, client: IMAPClient) -> FolderState:
        info = client.select_folder(self.config.folder)
        permanent = [f.decode() if isinstance(f, bytes) else str(f) for f in info.get(b"PERMANENTFLAGS", ())]
        # A server that keeps no own keywords (no \* in PERMANENTFLAGS) still gets \Seen.
        self._flags = DEFAULT_FLAGS if "\\*" in permanent else tuple(f for f in DEFAULT_FLAGS if f != IMPORTED_KEYWORD)
        return FolderState(int(info[b"UIDVALIDITY"]), client.has_capability("IDLE"))

    def current(self) -> FolderState:
        """Select the folder again, as it is now. A folder deleted and made again under this
        session (restored from a backup: a new UIDVALIDITY, RFC 3501 2.3.1.1) stays selected
        in its old, empty form, and the server says nothing; Dovecot's STATUS answers for that
        old form too. Without a new SELECT the poller would watch it until the connection
        broke. One command per round (a poll, or an IDLE re-issued)."""
        return self._call("select", self._select, self.client)

    def _call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except _abort_errors() as exc:
            self.abort()
            raise ImapDropped(f"{what}: {type(exc).__name__}: {exc}") from None

    def new_uids(self, after_uid: int) -> list[int]:
        """UIDs above the cursor that carry no imported keyword, ascending.

        `UID n:*` always matches the newest message, even when its UID is below n (RFC 3501
        6.4.8: `*` is the largest UID in use), so the answer is filtered here."""
        criteria: list[Any] = ["UID", f"{after_uid + 1}:*"]
        if IMPORTED_KEYWORD in self._flags:
            criteria += ["NOT", "KEYWORD", IMPORTED_KEYWORD]
        uids = self._call("search", self.client.search, criteria)
        return sorted(int(u) for u in uids if int(u) > after_uid)

    def sizes(self, uids: list[int]) -> dict[int, int]:
        """RFC822.SIZE of each UID still there, without downloading anything."""
        found: dict[int, int] = {}
        for i in range(0, len(uids), FETCH_CHUNK):
            answer = self._call("fetch size", self.client.fetch, uids[i : i + FETCH_CHUNK], ["RFC822.SIZE"])
            found.update(
                {int(uid): int(data[b"RFC822.SIZE"]) for uid, data in answer.items() if b"RFC822.SIZE" in data}
            )
        return found

    def header(self, uid: int) -> bytes | None:
        answer = self._call("fetch header", self.client.fetch, [uid], ["BODY.PEEK[HEADER]"])
        data = answer.get(uid) or {}
        return data.get(b"BODY[HEADER]")

    def fetch(self, uid: int) -> bytes | None:
        """The whole message, read with BODY.PEEK[] (sets no \\Seen); None if it is gone."""
        answer = self._call("fetch", self.client.fetch, [uid], ["BODY.PEEK[]"])
        data = answer.get(uid) or {}
        return data.get(b"BODY[]")

    def mark_imported(self, uid: int) -> None:
        """After the commit: move to the configured folder, or flag. Never deletes a mail
        without a copy (MOVE, or COPY then \\Deleted and UID EXPUNGE of this one UID only)."""
        c, client = self.config, self.client
        if c.move_to:
            if client.has_capability("MOVE"):
                self._call("move", client.move, [uid], c.move_to)
                return
            self._call("copy", client.copy, [uid], c.move_to)
            self._call("flag", client.add_flags, [uid], list(self._flags))
            if client.has_capability("UIDPLUS"):
                self._call("flag deleted", client.add_flags, [uid], ["\\Deleted"])
                self._call("expunge", client.uid_expunge, [uid])
            return
        self._call("flag", client.add_flags, [uid], list(self._flags))

    def wait_idle(self, seconds: float, stop: threading.Event) -> bool:
        """IDLE until a new mail (EXISTS), `seconds` passed or `stop` is set; True on new mail.
        Bounded: IDLE is ended and re-issued by the caller every `seconds` (RFC 2177)."""
        client = self.client
        self._call("idle", client.idle)
        deadline = time.monotonic() + seconds
        arrived = False
        try:
            while not stop.is_set() and not arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                responses = self._call("idle check", client.idle_check, min(IDLE_SLICE_SECONDS, left))
                arrived = any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)
        finally:
            if self._client is not None:
                self._call("idle done", client.idle_done)
        return arrived

    def noop(self) -> None:
        self._call("noop", self.client.noop)

    def close(self) -> None:
        """Log out politely; a broken connection is just dropped."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # already broken: nothing left to tell the server
            self._shutdown(client)

    def abort(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._shutdown(client)

    @staticmethod
    def _shutdown(client: IMAPClient) -> None:
        try:
            client.shutdown()
        except Exception:
            log.debug("imap: shutdown of a broken connection failed", exc_info=True)
