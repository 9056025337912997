"""Mail transports: hand finished message bytes to a folder or an SMTP relay.

Two levels of errors, decided here once for every caller:

* ``PermanentSendError``: the relay refused *this message* with a 5xx (sender, every
  recipient, or the data). Retrying cannot help; the delivery becomes a dead letter.
* ``TransientSendError``: everything else that went wrong: 4xx replies, refused or dropped
  connections, timeouts, TLS and authentication trouble. Those are our side or the relay's
  side; once an operator fixes the relay or its settings, the retried deliveries go out.

Relay URLs (``transport_from_url``)::

    smtp://host[:25]            plain; STARTTLS when the relay offers it (``?starttls=auto``,
                                the default; certificate not verified: opportunistic TLS as
                                in RFC 7435), ``?starttls=never`` for relays with broken TLS
    smtp+starttls://host[:587]  STARTTLS required, certificate verified
    smtps://host[:465]          implicit TLS (RFC 8314), certificate verified
    optional user:password@     percent-decoded, ASCII; never logged (the URL is redacted)
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import smtplib
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)


class TransientSendError(Exception):
    """Retry later: connection trouble, timeouts, 4xx replies."""


class PermanentSendError(Exception):
    """Do not retry: the relay refused this message with 5xx."""


class MailTransport(Protocol):
    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> None: ...


class FolderTransport:
    """Write each message to ``<folder>/<UTC timestamp>-<short hash>.eml``.

    For development and for sites without a relay: the files open in any mail client. The
    file holds the message bytes only; the envelope is not kept.
    """

    def __init__(self, folder: Path, *, clock: Callable[[], datetime] | None = None) -> None:
        self.folder = folder
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"FolderTransport({str(self.folder)!r})"

    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> None:
        try:
            path = await asyncio.to_thread(self._write, data)
        except OSError as exc:
            # A full disk or a wrong permission is our fault, not the message's.
            raise TransientSendError(f"cannot write to {self.folder}: {exc}") from exc
        log.info("wrote outgoing mail to %s (message %s)", path, _message_id(data))

    def _write(self, data: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = self._clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{hashlib.sha256(data).hexdigest()[:12]}.eml"
        final = self.folder / name
        # Leading dot: readers that glob *.eml never see a half-written file.
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.folder)
        return final


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); Windows cannot open a directory, and needs no such step."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class RelaySettings:
    """A parsed relay URL."""

    scheme: str  # smtp, smtp+starttls, smtps
    host: str
    port: int
    username: str | None
    password: str | None = field(repr=False)
    starttls: str  # "auto", "required", "never", or "implicit" for smtps

    def redacted(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{user}{host}:{self.port}"


_DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


def parse_relay_url(url: str) -> RelaySettings:
    """Parse and check a relay URL; raise ValueError (without the password) when it is wrong."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ValueError(f"unknown mail relay scheme {scheme!r}; use smtp, smtp+starttls or smtps")
    if not parts.hostname:
        raise ValueError("mail relay URL has no host")
    if parts.path not in ("", "/"):
        raise ValueError("mail relay URL must not have a path")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ValueError("mail relay URL has an invalid port") from None
    query = parse_qs(parts.query, strict_parsing=False)
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"unknown mail relay URL options: {', '.join(sorted(unknown))}")
    if scheme == "smtp":
        starttls = query.get("starttls", ["auto"])[-1]
        if starttls not in ("auto", "never"):
            raise ValueError("starttls must be auto or never")
    elif "starttls" in query:
        raise ValueError(f"the starttls option applies to smtp:// only, not {scheme}://")
    else:
        starttls = "required" if scheme == "smtp+starttls" else "implicit"
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if not (username or "").isascii() or not (password or "").isascii():
        # smtplib encodes AUTH as ASCII; fail at start-up, not on every send.
        raise ValueError("mail relay user name and password must be ASCII")
    return RelaySettings(scheme, parts.hostname, port, username, password, starttls)


class SmtpRelayTransport:
    """Send through an SMTP relay with stdlib smtplib, run in a worker thread."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.settings = parse_relay_url(url)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpRelayTransport({self.settings.redacted()!r})"

    async def send(self, envelope_from: str, recipients: Sequence[str], data: bytes) -> None:
        if not recipients:
            raise PermanentSendError("no recipients")
        await asyncio.to_thread(self._send_classified, envelope_from, list(recipients), data)
        log.info(
            "relayed outgoing mail %s via %s to %d recipient(s)",
            _message_id(data),
            self.settings.redacted(),
            len(recipients),
        )

    def _send_classified(self, envelope_from: str, recipients: list[str], data: bytes) -> None:
        try:
            refused = self._send_sync(envelope_from, recipients, data)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            summary = _codes_summary(exc.recipients.values())
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentSendError(f"all recipients refused: {summary}") from exc
            raise TransientSendError(f"recipients refused for now: {summary}") from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            what = "sender" if isinstance(exc, smtplib.SMTPSenderRefused) else "message"
            text = f"{what} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentSendError(text) from exc
            raise TransientSendError(text) from exc
        except smtplib.SMTPResponseException as exc:
            # Greeting, HELO, AUTH, STARTTLS replies: about the session, not the message.
            raise TransientSendError(
                f"relay {self.settings.redacted()} answered {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # OSError covers refused connections, timeouts (TimeoutError) and ssl.SSLError.
            raise TransientSendError(
                f"relay {self.settings.redacted()} unreachable or dropped: {type(exc).__name__}: {exc}"
            ) from exc
        if refused:
            # Some recipients took the mail: retrying would send it to them twice.
            log.warning(
                "relay %s refused %d of %d recipient(s) of %s: %s",
                self.settings.redacted(),
                len(refused),
                len(recipients),
                _message_id(data),
                _codes_summary(refused.values()),
            )

    def _send_sync(self, envelope_from: str, recipients: list[str], data: bytes) -> dict[str, tuple[int, bytes]]:
        s = self.settings
        smtp: smtplib.SMTP
        if s.starttls == "implicit":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if s.starttls in ("auto", "required"):
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=_starttls_context(s.starttls))
                    smtp.ehlo()  # RFC 3207 §4.2: forget what was said before TLS
                elif s.starttls == "required":
                    raise smtplib.SMTPNotSupportedError("relay does not offer STARTTLS")
            if s.username is not None:
                smtp.login(s.username, s.password or "")
            return smtp.sendmail(envelope_from, recipients, data)
        finally:
            _quit(smtp)


def _quit(smtp: smtplib.SMTP) -> None:
    # Not `with smtp:`: its QUIT raises on an odd reply, and an error after the relay took the
    # message would make us retry and deliver it twice.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _starttls_context(mode: str) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if mode == "auto":
        # Opportunistic: encrypt against passive listeners even when the relay has a
        # self-signed certificate (as most local relays do). Use smtp+starttls:// to verify.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


_ADDRESS = re.compile(r"[^\s<>\"'()\[\],;:]+@[^\s<>\"'()\[\],;:]+")


def _text(raw: bytes | str) -> str:
    """A server reply as text, with any address in it redacted (relays like to quote them)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return _ADDRESS.sub("<redacted>", text)


def _codes_summary(replies: Iterable[tuple[int, bytes | str]]) -> str:
    # Only the codes and texts; recipient addresses stay out of logs and error messages.
    items = [f"{code} {_text(msg)}" for code, msg in replies]
    return "; ".join(sorted(set(items)))


_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def _message_id(data: bytes) -> str:
    """The Message-ID from the header section, for log lines (the on-call person greps it)."""
    found = _MESSAGE_ID.search(data.split(b"\r\n\r\n", 1)[0])
    return found.group(1).decode("ascii", "replace") if found else "<no Message-ID>"


def transport_from_url(url: str | None, folder: Path) -> MailTransport:
    """A relay transport for a URL, or a folder transport when no URL is configured."""
    if url is None or not url.strip():
        return FolderTransport(folder)
    return SmtpRelayTransport(url)
