"""Logging as kefu's processes set it up: one format, and the libraries' chatter kept down.

aiosmtpd logs every SMTP command at INFO, addresses included ("'peer' >> b'MAIL FROM:<…>'"),
which is noise at kefu's default level, a cost on a busy intake, and personal data in the log;
kefu logs what it decides (refused recipient, stored, quarantined) with addresses redacted.
With ``KEFU_LOG_LEVEL=DEBUG`` everything is shown.

Two formats (KEFU_LOG_FORMAT): `text`, a line for a person, and `json`, one JSON object a line
for a log collector (journald, Loki, Elasticsearch): ``time`` (UTC, ISO 8601, milliseconds),
``level``, ``logger``, ``message``, then the record's extras (``log.info(..., extra={...})``),
and ``exception`` with the traceback. Both carry the same message: the redaction is done where
the message is written (intake/smtp.py's `redact`), and the same chatter is kept down.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")

# Logger -> the lowest level it logs at unless the root logs lower (DEBUG).
QUIETER = {
    "mail.log": logging.WARNING,  # aiosmtpd: one INFO line per SMTP command
    "alembic.runtime.plugins": logging.WARNING,  # lists its autogenerate plugins on every start
}

# What every LogRecord has; anything else on a record came with `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_FIXED = ("time", "level", "logger", "message", "exception", "stack")


class JsonFormatter(logging.Formatter):
    """One JSON object a line (a newline in a message or a traceback is escaped, never a new line)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[f"extra_{key}" if key in _FIXED else key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=repr)


def formatter(fmt: str) -> logging.Formatter:
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: one of {', '.join(FORMATS)}")
    return JsonFormatter() if fmt == "json" else logging.Formatter(LOG_FORMAT)


def configure(level: int | str, stream: TextIO | None = None, fmt: str = "text") -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(fmt))
    logging.basicConfig(level=level, handlers=[handler])
    root = logging.getLogger().level
    for name, floor in QUIETER.items():
        logging.getLogger(name).setLevel(max(floor, root) if root > logging.DEBUG else root)
