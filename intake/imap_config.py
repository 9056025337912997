"""The IMAP mailbox setting, read once: `KEFU_IMAP_URL` and its companions -> `ImapConfig`.

`imaps://user:password@host[:993]/FOLDER` (TLS from the first byte) or `imap://user@host[:143]/FOLDER`
with STARTTLS, which is required: a server that does not offer it is refused, so a password
never crosses the network in clear. `?starttls=never` turns that off, and only for a loopback
host (tests, a local Dovecot). Certificates are always verified (`KEFU_IMAP_CA_FILE` names an
own CA); there is no switch to turn verification off.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from cases.settings import Settings, SettingsError

DEFAULT_FLAGS: tuple[str, ...] = ("\\Seen", "$KefuImported")
IMPORTED_KEYWORD = "$KefuImported"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str
    port: int
    username: str
    password: str
    folder: str = "INBOX"
    implicit_tls: bool = True  # imaps://; False: imap:// with STARTTLS (or none, loopback only)
    starttls: bool = True
    ca_file: str | None = None
    move_to: str | None = None  # None: flag imported mail instead of moving it
    poll_seconds: float = 60.0
    max_message_bytes: int = 25 * 1024 * 1024
    idle_seconds: float = 240.0  # re-issue IDLE this often (RFC 2177 asks for < 29 minutes)
    timeout_seconds: float = 30.0  # socket timeout of every command

    @property
    def cursor_key(self) -> str:
        """Names the folder's cursor: another server, account or folder starts its own."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"[:500]

    @property
    def label(self) -> str:
        """For logs and health: the mailbox without the password, the user shortened."""
        user = self.username[:2] + "…" if len(self.username) > 2 else self.username
        return f"{user}@{self.host}:{self.port}/{self.folder}"

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        return context


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def imap_config(settings: Settings) -> ImapConfig | None:
    """None when no IMAP mailbox is set; raises SettingsError naming the variable otherwise."""
    url = settings.imap_url
    if not url:
        return None
    name = "KEFU_IMAP_URL"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise SettingsError(f"{name}: cannot read the URL: {exc}") from None
    if parts.scheme not in ("imap", "imaps"):
        raise SettingsError(f"{name} must start with imaps:// or imap://, got {parts.scheme or 'nothing'}://")
    if not parts.hostname:
        raise SettingsError(f"{name} names no host")
    if not parts.username:
        raise SettingsError(f"{name} names no user (imaps://user@host/INBOX)")
    password = unquote(parts.password) if parts.password is not None else settings.imap_password
    if not password:
        raise SettingsError(f"{name} has no password and KEFU_IMAP_PASSWORD is not set")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls"}
    if unknown:
        raise SettingsError(f"{name}: unknown option(s) {', '.join(sorted(unknown))}")
    starttls = query.get("starttls", "required").lower()
    if starttls not in ("required", "never"):
        raise SettingsError(f"{name}: starttls must be required or never, got {starttls!r}")
    implicit = parts.scheme == "imaps"
    if starttls == "never" and (implicit or not _is_loopback(parts.hostname)):
        raise SettingsError(
            f"{name}: starttls=never is only allowed with imap:// to a loopback host; "
            "a password must not cross the network in clear"
        )
    if settings.imap_ca_file:
        try:
            open(settings.imap_ca_file, "rb").close()
        except OSError as exc:
            raise SettingsError(f"KEFU_IMAP_CA_FILE: cannot read {settings.imap_ca_file}: {exc}") from None
    if settings.imap_poll_seconds <= 0:
        raise SettingsError("KEFU_IMAP_POLL_SECONDS must be above 0")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    move_to = settings.imap_move_to
    if move_to is not None and move_to == folder:
        raise SettingsError("KEFU_IMAP_MOVE_TO must name another folder than the one read")
    return ImapConfig(
        host=parts.hostname,
        port=port or (993 if implicit else 143),
        username=unquote(parts.username),
        password=password,
        folder=folder,
        implicit_tls=implicit,
        starttls=starttls == "required",
        ca_file=settings.imap_ca_file,
        move_to=move_to,
        poll_seconds=settings.imap_poll_seconds,
        max_message_bytes=settings.imap_max_message_bytes or settings.max_message_bytes,
    )
