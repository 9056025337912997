"""KEFU_LOG_FORMAT=json (issue 17, item 11): one JSON object a line with time, level, logger,
message and the record's extras, tracebacks inside the object; text stays the default; and a
real `kefu db upgrade` writes nothing but JSON lines."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from cases.settings import Settings, SettingsError
from kefu.logs import JsonFormatter, formatter


def _record(logger: logging.Logger, stream: io.StringIO, fmt: logging.Formatter) -> None:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)


def test_a_json_line_has_time_level_logger_message_and_extras() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("kefu.test.json")
    _record(logger, stream, JsonFormatter())
    logger.info(
        "inbound #%d quarantined: %s", 17, "bulk mail\nfrom a stranger / 群发邮件", extra={"case": "FB-2026-000001"}
    )
    try:
        raise ValueError("broken template")
    except ValueError:
        logger.exception("fan-out: event #%d set aside", 3, extra={"level": "shadowed"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # a newline in a message or a traceback never starts a line
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "kefu.test.json"
    assert first["message"] == "inbound #17 quarantined: bulk mail\nfrom a stranger / 群发邮件"
    assert first["case"] == "FB-2026-000001"
    assert first["time"].endswith("Z") and datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert "exception" not in first
    assert second["level"] == "ERROR" and second["extra_level"] == "shadowed"  # an extra never hides a field
    assert second["exception"].startswith("Traceback") and "ValueError: broken template" in second["exception"]


def test_an_extra_json_cannot_hold_is_written_as_its_repr() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("kefu.test.repr")
    _record(logger, stream, JsonFormatter())
    logger.warning("odd", extra={"path": Path("/var/lib/kefu"), "raw": b"\x00\xff"})
    got = json.loads(stream.getvalue())
    assert got["path"] == repr(Path("/var/lib/kefu")) and got["raw"] == repr(b"\x00\xff")


def test_text_is_the_default_and_the_format_is_a_setting() -> None:
    assert Settings().log_format == "text"
    assert Settings.from_values({"KEFU_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="KEFU_LOG_FORMAT"):
        Settings.from_values({"KEFU_LOG_FORMAT": "xml"})
    stream = io.StringIO()
    logger = logging.getLogger("kefu.test.text")
    _record(logger, stream, formatter("text"))
    logger.info("plain %s", "line")
    assert stream.getvalue().rstrip().endswith("INFO kefu.test.text: plain line")


def test_kefu_writes_only_json_lines_when_asked(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(tmp_path),
        "KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kefu.sqlite3'}",
        "KEFU_LOG_FORMAT": "json",
        "KEFU_LOG_LEVEL": "INFO",
    }
    done = subprocess.run(
        [sys.executable, "-m", "kefu", "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"].startswith("alembic") for r in records)  # the libraries' records too
    assert any(r["logger"] == "kefu" and r["message"].startswith("schema up to date") for r in records)
