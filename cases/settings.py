"""Settings: one frozen dataclass, loaded from the environment in one place.

Every setting is documented in README.md ("Settings") with its default. An optional TOML
file (``KEFU_CONFIG``) supplies the same keys in lower case without the ``KEFU_`` prefix;
the environment wins over the file.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable."""


def _split_hostport(value: str, name: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise SettingsError(f"{name} must look like HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _default_parse_workers() -> int:
    """Mail is parsed in worker processes; one core stays with the event loop."""
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def _smtp_process(raw: str | None) -> bool:
    """KEFU_SMTP_PROCESS: ``auto`` (the default) runs SMTP intake in its own process when the
    machine has two cores or more, so that SMTP sessions and case writing each get one."""
    value = (raw or "auto").strip().lower()
    if value == "auto":
        return (os.cpu_count() or 1) >= 2
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    raise SettingsError(f"KEFU_SMTP_PROCESS must be auto, on or off, got {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""  # default: SQLite file under data_dir
    smtp_listen: tuple[str, int] = ("127.0.0.1", 2525)
    mail_domains: tuple[str, ...] = ("localhost",)
    service_local_part: str = "service"
    http_listen: tuple[str, int] = ("127.0.0.1", 8080)
    outgoing_smtp: str | None = None
    mail_from_name: str = "客服 kefu"
    timezone: str = "Asia/Shanghai"
    secret_key: str = ""
    reference_prefix: str = "FB"
    public_url: str = ""
    satisfaction_reminder_days: float = 7.0
    satisfaction_close_days: float = 7.0
    deadline_warning_hours: float = 48.0
    max_message_bytes: int = 25 * 1024 * 1024
    auto_mail_per_recipient_per_day: int = 20
    instance_id: str = field(default_factory=lambda: secrets.token_hex(4))
    log_level: str = "INFO"
    parse_workers: int = 0  # from the environment: one less than the cores, at most 4
    smtp_process: bool = False  # from the environment: on with two cores or more (intake/smtp_process.py)
    fax_gateways: tuple[str, ...] = ()  # the site's own fax-to-email sender addresses (patterns)
    # IMAP mailbox (README "IMAP mailbox"); the URL is checked by intake/imap_config.py.
    imap_url: str | None = None
    imap_password: str = ""
    imap_move_to: str | None = None
    imap_poll_seconds: float = 60.0
    imap_max_message_bytes: int = 0  # 0: the same as max_message_bytes
    imap_ca_file: str | None = None
    # Faxes and scanned letters (README "Fax, phone, letter, visit, survey").
    ocr_languages: str = "chi_sim+eng"
    ocr_timeout_seconds: float = 120.0
    # Telegram bot (README "Telegram bot"); off without a token.
    telegram_token: str = ""
    telegram_api_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_bot_username: str = ""
    telegram_poll_timeout: float = 30.0
    telegram_per_chat_seconds: float = 1.0
    telegram_per_second: float = 30.0

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
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
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
        return cls._from_values(values)

    @classmethod
    def _from_values(cls, v: Mapping[str, str]) -> "Settings":
        def num(name: str, default: float) -> float:
            raw = v.get(name)
            if raw in (None, ""):
                return default
            try:
                return float(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, got {raw!r}") from None

        data_dir = Path(v.get("KEFU_DATA_DIR") or "var")
        domains = tuple(
            d.strip().lower() for d in (v.get("KEFU_MAIL_DOMAINS") or "localhost").split(",") if d.strip()
        )
        if not domains:
            raise SettingsError("KEFU_MAIL_DOMAINS must name at least one domain")
        timezone = v.get("KEFU_TIMEZONE") or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except Exception:
            raise SettingsError(f"KEFU_TIMEZONE: unknown time zone {timezone!r}") from None
        kwargs: dict[str, object] = dict(
            data_dir=data_dir,
            database_url=v.get("KEFU_DATABASE_URL", ""),
            smtp_listen=_split_hostport(v.get("KEFU_SMTP_LISTEN") or "127.0.0.1:2525", "KEFU_SMTP_LISTEN"),
            mail_domains=domains,
            service_local_part=(v.get("KEFU_SERVICE_LOCAL_PART") or "service").lower(),
            http_listen=_split_hostport(v.get("KEFU_HTTP_LISTEN") or "127.0.0.1:8080", "KEFU_HTTP_LISTEN"),
            outgoing_smtp=v.get("KEFU_OUTGOING_SMTP") or None,
            mail_from_name=v.get("KEFU_MAIL_FROM_NAME") or "客服 kefu",
            timezone=timezone,
            secret_key=v.get("KEFU_SECRET_KEY", ""),
            reference_prefix=(v.get("KEFU_REFERENCE_PREFIX") or "FB").upper(),
            public_url=(v.get("KEFU_PUBLIC_URL") or "").rstrip("/"),
            satisfaction_reminder_days=num("KEFU_SATISFACTION_REMINDER_DAYS", 7.0),
            satisfaction_close_days=num("KEFU_SATISFACTION_CLOSE_DAYS", 7.0),
            deadline_warning_hours=num("KEFU_DEADLINE_WARNING_HOURS", 48.0),
            max_message_bytes=int(num("KEFU_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)),
            auto_mail_per_recipient_per_day=int(num("KEFU_AUTO_MAIL_PER_RECIPIENT_PER_DAY", 20)),
            log_level=(v.get("KEFU_LOG_LEVEL") or "INFO").upper(),
            parse_workers=int(num("KEFU_PARSE_WORKERS", _default_parse_workers())),
            smtp_process=_smtp_process(v.get("KEFU_SMTP_PROCESS")),
            fax_gateways=tuple(g.strip().lower() for g in (v.get("KEFU_FAX_GATEWAYS") or "").split(",") if g.strip()),
            imap_url=v.get("KEFU_IMAP_URL") or None,
            imap_password=v.get("KEFU_IMAP_PASSWORD", ""),
            imap_move_to=v.get("KEFU_IMAP_MOVE_TO") or None,
            imap_poll_seconds=num("KEFU_IMAP_POLL_SECONDS", 60.0),
            imap_max_message_bytes=int(num("KEFU_IMAP_MAX_MESSAGE_BYTES", 0)),
            imap_ca_file=v.get("KEFU_IMAP_CA_FILE") or None,
            ocr_languages=v.get("KEFU_OCR_LANGUAGES") or "chi_sim+eng",
            ocr_timeout_seconds=num("KEFU_OCR_TIMEOUT_SECONDS", 120.0),
            telegram_token=v.get("KEFU_TELEGRAM_TOKEN", ""),
            telegram_api_url=v.get("KEFU_TELEGRAM_API_URL") or "https://api.telegram.org/bot",
            telegram_webhook_url=v.get("KEFU_TELEGRAM_WEBHOOK_URL", ""),
            telegram_webhook_secret=v.get("KEFU_TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_bot_username=(v.get("KEFU_TELEGRAM_BOT_USERNAME") or "").lstrip("@"),
            telegram_poll_timeout=num("KEFU_TELEGRAM_POLL_TIMEOUT", 30.0),
            telegram_per_chat_seconds=num("KEFU_TELEGRAM_PER_CHAT_SECONDS", 1.0),
            telegram_per_second=num("KEFU_TELEGRAM_PER_SECOND", 30.0),
        )
        if v.get("KEFU_INSTANCE_ID"):
            kwargs["instance_id"] = v["KEFU_INSTANCE_ID"]
        return cls(**kwargs)  # type: ignore[arg-type]

    def with_secret(self) -> "Settings":
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
        from dataclasses import replace

        return replace(self, secret_key=key)
