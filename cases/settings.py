"""Settings: one frozen dataclass, loaded from the environment in one place.

Each setting is declared once, below: its type, its default, how its text is read and what it
means. The reader (`Settings.from_env`), a Settings built in code and the table in
docs/settings.md (`settings_table`, checked by a test) all come from that declaration. An
optional TOML file (``KEFU_CONFIG``) supplies the same keys in lower case without the
``KEFU_`` prefix; the environment wins over the file.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")
Parse = Callable[[str, str], Any]  # (name, text) -> value; raises SettingsError


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


# -- how a setting's text is read ---------------------------------------------------------------
def text(name: str, raw: str) -> str:
    return raw


def lower(name: str, raw: str) -> str:
    return raw.strip().lower()


def upper(name: str, raw: str) -> str:
    return raw.strip().upper()


def number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def whole(name: str, raw: str) -> int:
    value = number(name, raw)
    if value != int(value):
        raise SettingsError(f"{name} must be a whole number, got {raw!r}")
    return int(value)


def at_least(minimum: int) -> Parse:
    def parse(name: str, raw: str) -> int:
        value = whole(name, raw)
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}")
        return value

    return parse


def host_port(name: str, raw: str) -> tuple[str, int]:
    host, sep, port = raw.rpartition(":")
    if not sep or not port.isdigit():
        raise SettingsError(f"{name} must look like HOST:PORT, got {raw!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def word_list(name: str, raw: str) -> tuple[str, ...]:
    return tuple(w.strip().lower() for w in raw.split(",") if w.strip())


def domains(name: str, raw: str) -> tuple[str, ...]:
    found = word_list(name, raw)
    if not found:
        raise SettingsError(f"{name} must name at least one domain")
    return found


def time_zone(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw)
    except Exception:
        raise SettingsError(f"{name}: unknown time zone {raw!r}") from None
    return raw


def path(name: str, raw: str) -> Path:
    return Path(raw)


def networks(name: str, raw: str) -> tuple[str, ...]:
    """`127.0.0.0/8,::1` (addresses or networks), or `none`."""
    if raw.strip().lower() == "none":
        return ()
    try:
        return tuple(str(ipaddress.ip_network(n.strip(), strict=False)) for n in raw.split(",") if n.strip())
    except ValueError as exc:
        raise SettingsError(f"{name} must list addresses or networks such as 127.0.0.0/8, or none: {exc}") from None


def choice(*allowed: str) -> Parse:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


def _auto(parse: Parse, auto: Callable[[], Any]) -> Parse:
    """`auto` means the machine's default (the same as leaving the setting out)."""
    return lambda name, raw: auto() if raw.strip().lower() == "auto" else parse(name, raw)


# -- defaults that depend on the machine ----------------------------------------------------------
def default_parse_workers() -> int:
    """Mail is parsed in worker processes; one core stays with the event loop."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def setting(
    default: Any, doc: str, parse: Parse, *, shown: str | None = None, factory: Callable[[], Any] | None = None
) -> Any:
    """Declare a setting: its default (or a factory for a default the machine decides), how
    its text is read, and what docs/settings.md says of it (`shown` for a default that is not
    a plain value)."""
    meta = {"doc": doc, "parse": parse, "shown": shown}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = setting(Path("var"), "data folder: SQLite database, `secret_key`, `outgoing/`", path)
    database_url: str = setting(
        "",
        "database; `postgresql+asyncpg://user@host:5432/db` for PostgreSQL",
        text,
        shown="`sqlite+aiosqlite:///var/kefu.sqlite3`",
    )
    smtp_listen: tuple[str, int] = setting(
        ("127.0.0.1", 2525), "SMTP intake address", host_port, shown="`127.0.0.1:2525`"
    )
    mail_domains: tuple[str, ...] = setting(
        ("localhost",),
        "comma-separated recipient domains we accept; the first is used in our own addresses",
        domains,
        shown="`localhost`",
    )
    service_local_part: str = setting("service", "local part of the service address", lower)
    http_listen: tuple[str, int] = setting(
        ("127.0.0.1", 8080), "HTTP API (and console) address", host_port, shown="`127.0.0.1:8080`"
    )
    outgoing_smtp: str | None = setting(
        None,
        "relay URL: `smtp://host:25`, `smtp+starttls://user:pw@host:587`, `smtps://host:465`; unset: mail "
        "is written to `var/outgoing/*.eml`",
        text,
    )
    mail_from_name: str = setting("客服 kefu", "display name of our mail", text)
    timezone: str = setting("Asia/Shanghai", "time zone for display; everything is stored in UTC", time_zone)
    secret_key: str = setting(
        "",
        "signs reply-address and Message-ID tokens; **set the same value on every instance**",
        text,
        shown="generated into `var/secret_key`",
    )
    reference_prefix: str = setting("FB", "prefix of case references (`FB-2026-000123`)", upper)
    public_url: str = setting(
        "", "base URL of the console, for links in staff notices", lambda name, raw: raw.rstrip("/")
    )
    satisfaction_reminder_days: float = setting(
        7.0, "days without a satisfaction answer before the one reminder", number
    )
    satisfaction_close_days: float = setting(7.0, 'days after the reminder before closing as "no response"', number)
    closed_case_reopen_days: float = setting(
        30.0,
        "a customer writing to a case closed at most this many days ago reopens it; later, the mail "
        "opens a new case linked to it (a bare thanks always joins the closed case)",
        number,
    )
    deadline_warning_hours: float = setting(
        48.0, "how long before the customer's deadline the department and Sales are told it is near", number
    )
    agreement_defaults: str = setting(
        "first_answer=24h,containment=24h,root_cause=5wd,closure=30d",
        "agreed deadlines for customers without a service agreement, counted from the customer's notice: "
        "`STEP=AMOUNT` with `h` hours, `d` calendar days or `wd` working days (docs/quality.md)",
        text,
    )
    step_warning_hours: float = setting(
        4.0, "how long before an agreed step (first answer, containment, ...) falls due its owner is told", number
    )
    service_report_prefix: str = setting(
        "DFCPZL063A", "record number prefix of on-site service reports (`DFCPZL063A-2026-0001`)", upper
    )
    repeat_window_days: float = setting(
        365.0,
        "a new complaint with the same part number and failure mode as a case closed within this many days "
        "(or still open) is linked to it as a repeat",
        number,
    )
    severity_quantity_threshold: int = setting(
        100, "a quantity on the form above this raises the severity from the failure category one grade", whole
    )
    supplier_name: str = setting(
        "", "the supplier's name in the header of the 8D document and the reports; empty: `KEFU_MAIL_FROM_NAME`", text
    )
    supplier_logo: str = setting(
        "", "a PNG, JPEG or SVG file shown in the header of the 8D document and the reports (empty: none)", text
    )
    early_warning_window_days: int = setting(
        30,
        "early warning: the rolling window whose failures are compared with the expected level (docs/field-data.md)",
        whole,
    )
    early_warning_baseline_days: int = setting(
        365, "early warning: the period before the window that sets the expected level (docs/field-data.md)", whole
    )
    early_warning_scan_seconds: float = setting(
        3600.0, "how often the workers run the early-warning scan; `0` turns the periodic scan off", number
    )
    report_reminder_days: int = setting(
        10,
        "days after a quarter ends before Sales are reminded, once, that its marketing summary report "
        "(DFCPXS009A, procedure 6.5.4) is not issued yet; `0` turns the reminder off (docs/reports.md)",
        whole,
    )
    max_message_bytes: int = setting(25 * 1024 * 1024, "largest mail accepted (SMTP `SIZE`)", whole)
    smtp_connections_per_client: int = setting(
        20, "open SMTP connections one client address may hold; more are answered `421 4.7.0` at once", whole
    )
    smtp_tls_cert: str | None = setting(
        None, "PEM certificate (chain) for STARTTLS on SMTP intake; with `KEFU_SMTP_TLS_KEY` STARTTLS is offered", text
    )
    smtp_tls_key: str | None = setting(None, "PEM private key of `KEFU_SMTP_TLS_CERT`", text)
    sqlite_busy_seconds: float = setting(
        30.0,
        'how long a SQLite write waits for another connection\'s lock before it fails as "database is locked" '
        "(which the workers retry)",
        number,
    )
    reply_token_days: float = setting(
        180.0,
        "days a reply-address token (`service+fb-2026-000123.…@`) threads a reply; older tokens are ignored "
        "and the reply is threaded by its other clues or opens a new case",
        number,
    )
    auto_mail_per_recipient_per_day: int = setting(
        20, "cap on automatic mail to one customer address a day (loop guard)", whole
    )
    instance_id: str = setting(
        "",
        "names this instance in our loop header, its heartbeat row and the notices it leases; kept in "
        "`var/instance_id` so that a restart takes back its predecessor's leases at once. **Set a different "
        "value on each instance that shares a data folder**",
        text,
        shown="generated into `var/instance_id`",
    )
    log_level: str = setting(
        "INFO",
        "`DEBUG`, `INFO`, `WARNING`, …; aiosmtpd's line per SMTP command (with the addresses) is "
        "logged only at `DEBUG` (`kefu/logs.py`)",
        upper,
    )
    log_format: str = setting(
        "text",
        "`text` (a line for a person) or `json` (one JSON object a line for a log collector: time, level, "
        "logger, message, and the record's extras; docs/operating.md)",
        choice("text", "json"),
    )
    metrics_allow: tuple[str, ...] = setting(
        ("127.0.0.0/8", "::1/128"),
        "peers that may read `GET /metrics` without a token (comma-separated addresses or networks, or "
        "`none`); anyone else needs an admin's API token. The socket's peer counts, never `X-Forwarded-For`",
        networks,
    )
    parse_workers: int = setting(
        None,
        "processes that parse incoming mail beside the event loop; `0` parses inline. They end with "
        "`kefu serve`, even after a `kill -9`",
        _auto(whole, default_parse_workers),
        shown="`auto`: one less than the cores, at most 4 (`1` on two cores)",
        factory=default_parse_workers,
    )
    fax_gateways: tuple[str, ...] = setting(
        (),
        "comma-separated sender addresses (shell patterns such as `*@fax.example.cn`) of the site's own "
        'fax-to-email gateways, tried before the built-in rules and read like "Fax from …" / '
        '"来自 … 的传真"',
        word_list,
    )
    # IMAP mailbox (docs/imap.md); the URL is checked by intake/imap_config.py.
    imap_url: str | None = setting(
        None,
        "`imaps://user:password@host[:993]/FOLDER` (TLS), or `imap://user@host[:143]/FOLDER` with "
        "STARTTLS, which is then required; `?starttls=never` is accepted only for a loopback host "
        "(tests, a local Dovecot). Folder default `INBOX`; `%40` for an `@` in the user",
        text,
        shown="— (off)",
    )
    imap_password: str = setting("", "the password, when it is not in the URL", text)
    imap_move_to: str | None = setting(
        None,
        "folder to move imported mail to; unset: flag it `\\Seen` and `$KefuImported`",
        text,
        shown="— (flag instead)",
    )
    imap_poll_seconds: float = setting(60.0, "polling interval when the server has no IDLE", number)
    imap_max_message_bytes: int = setting(
        0, "larger mail is reported, not downloaded", whole, shown="`KEFU_MAX_MESSAGE_BYTES`"
    )
    imap_ca_file: str | None = setting(
        None,
        "PEM file of the CA that signed the server's certificate; certificates and host names are always verified",
        text,
        shown="system CAs",
    )
    # Faxes and scanned letters (docs/fax-and-phone.md).
    ocr_languages: str = setting(
        "chi_sim+eng", "Tesseract languages for faxes and scanned letters (those installed are used)", text
    )
    ocr_timeout_seconds: float = setting(
        120.0, "longest one tool (pdftotext, pdftoppm, tesseract) may run on a document", number
    )
    # The staff console (docs/console.md).
    console_session_hours: float = setting(
        12.0, "how long a console sign-in lasts; signing out, a password change or a reset ends it sooner", number
    )
    login_failures_per_account: int = setting(
        5, "failed console sign-ins for one account within the window before it is throttled", whole
    )
    login_failures_per_address: int = setting(
        20, "failed console sign-ins from one client address within the window before it is throttled", whole
    )
    login_window_minutes: float = setting(
        15.0, "the window the failed sign-ins are counted in; a throttled account or address waits it out", number
    )
    password_time_cost: int = setting(
        3, "argon2id passes of a console password's hash (RFC 9106's second recommended option: 3)", at_least(1)
    )
    password_memory_kib: int = setting(
        65536,
        "argon2id memory of a console password's hash, in KiB (64 MiB); a changed cost applies to a password "
        "when it is next set or signed in with",
        at_least(32),
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        "reverse proxies (addresses or networks, or `none`) whose `X-Forwarded-For` names the client; from "
        "anyone else the socket's peer is the client",
        networks,
    )
    # Telegram bot (docs/telegram.md); off without a token.
    telegram_token: str = setting("", "the bot's token from @BotFather; unset: the bot is off", text)
    telegram_api_url: str = setting(
        "https://api.telegram.org/bot",
        "Bot API base URL (the token is appended); a self-hosted Bot API "
        "server or a test server can stand in; files are fetched from the same URL with `/file/bot`",
        text,
    )
    telegram_webhook_url: str = setting(
        "", "public HTTPS URL that reaches `POST /telegram/webhook`; unset: long polling", text
    )
    telegram_webhook_secret: str = setting(
        "",
        "the secret token Telegram sends in `X-Telegram-Bot-Api-Secret-Token` (`A-Z a-z 0-9 _ -`, up to 256)",
        text,
        shown="derived from `KEFU_SECRET_KEY`",
    )
    telegram_bot_username: str = setting(
        "", "the bot's username for `t.me` links", lambda name, raw: raw.strip().lstrip("@"), shown="from `getMe`"
    )
    telegram_poll_timeout: float = setting(30.0, "long-polling timeout of `getUpdates`, seconds", number)
    telegram_per_chat_seconds: float = setting(1.0, "least time between two messages to one chat", number)
    telegram_per_second: float = setting(30.0, "most messages a second in all", number)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def service_address(self) -> str:
        return f"{self.service_local_part}@{self.mail_domains[0]}"

    @property
    def outgoing_folder(self) -> Path:
        return self.data_dir / "outgoing"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'kefu.sqlite3'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, str] = {}
        config = env.get("KEFU_CONFIG")
        if config:
            try:
                with open(config, "rb") as fh:
                    values.update({f"KEFU_{k.upper()}": str(v) for k, v in tomllib.load(fh).items()})
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise SettingsError(f"KEFU_CONFIG: cannot read {config}: {exc}") from exc
        values.update({k: v for k, v in env.items() if k.startswith("KEFU_")})
        return cls.from_values(values)

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> Settings:
        """Every setting from its KEFU_ variable; one that is unset or empty keeps its default."""
        given: dict[str, Any] = {}
        for f in fields(cls):
            raw = values.get(env_name(f.name))
            if raw is not None and raw.strip():
                given[f.name] = f.metadata["parse"](env_name(f.name), raw)
        return cls(**given)

    def with_instance_id(self) -> Settings:
        """Return settings whose instance id is set, reading or creating ``data_dir/instance_id``:
        the same id after a restart, so that the new start knows which leases were its own."""
        if self.instance_id:
            return self
        path = self.data_dir / "instance_id"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            found = path.read_text().strip()
        except FileNotFoundError:
            found = ""
        if not found:
            found = secrets.token_hex(4)
            path.write_text(found + "\n")
        return replace(self, instance_id=found)

    def with_secret(self) -> Settings:
        """Return settings whose secret key is set, reading or creating ``data_dir/secret_key``.

        Several instances on PostgreSQL must share KEFU_SECRET_KEY; a single machine keeps the
        generated key in the data folder so that tokens survive a restart.
        """
        if self.secret_key:
            return self
        path = self.data_dir / "secret_key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            key = path.read_text().strip()
        except FileNotFoundError:
            key = secrets.token_urlsafe(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(key + "\n")
        return replace(self, secret_key=key)


def env_name(field_name: str) -> str:
    return "KEFU_" + field_name.upper()


def _shown(value: Any) -> str:
    if value in ("", None, ()):
        return "—"
    if isinstance(value, tuple):
        return "`" + ",".join(str(v) for v in value) + "`"
    if isinstance(value, float) and value == int(value):
        value = int(value)
    return f"`{value}`"


def settings_table() -> str:
    """The table of docs/settings.md: every setting, its default and what it means."""
    rows = [
        "| variable | default | meaning |",
        "|---|---|---|",
        "| `KEFU_CONFIG` | — | optional TOML file with the settings below |",
    ]
    for f in fields(Settings):
        shown = f.metadata["shown"] or _shown(f.default)
        rows.append(f"| `{env_name(f.name)}` | {shown} | {f.metadata['doc']} |")
    return "\n".join(rows) + "\n"
