"""What `make run` gives a new user, in real processes: `kefu serve` on a fresh data folder
prints how to log in, an email sent with smtplib becomes a case that `kefu case list`,
`kefu case show` and the API show, and the acknowledgement lands in the outgoing folder with
the reference in its subject."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cases.domain.enums import Channel
from cases.settings import Settings
from tests.conftest import free_port
from tests.mailhelpers import customer_mail
from tests.test_crash import _start

pytestmark = pytest.mark.slow


def _kefu(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kefu", *args], env=env, capture_output=True, text=True, timeout=60)


def _wait(check, what: str, seconds: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_serve_takes_a_mail_to_a_listed_case_and_an_acknowledgement_file(settings: Settings, tmp_path: Path) -> None:
    if not settings.sqlalchemy_url.startswith("sqlite"):
        pytest.skip("the embedded default is SQLite; PostgreSQL serving is covered by the crash test")
    import smtplib

    log = tmp_path / "serve.log"
    proc, settings = _start(settings, log)
    env = {
        **os.environ,
        "KEFU_DATA_DIR": str(settings.data_dir),
        "KEFU_DATABASE_URL": settings.sqlalchemy_url,
        "KEFU_SECRET_KEY": "crash-test",
        "KEFU_MAIL_DOMAINS": "kefu.example",
        "KEFU_LOG_LEVEL": "WARNING",
    }
    try:
        printed = _wait(lambda: "API token:" in log.read_text() and log.read_text(), "the first-start banner")
        token = re.search(r"API token: (\S+)", printed).group(1)  # type: ignore[union-attr]
        assert "user: admin" in printed and "password:" in printed

        with smtplib.SMTP(*settings.smtp_listen, timeout=10) as client:
            client.send_message(
                customer_mail(
                    "张伟 <zhang.wei@dfmc-parts.cn>",
                    "刹车片异响",
                    "零件号：3501-00123\n装车后刹车片异响。",
                    message_id="serve1@dfmc-parts.cn",
                )
            )

        listing = _wait(
            lambda: (r := _kefu(env, "case", "list")).returncode == 0 and "FB-" in r.stdout and r.stdout,
            "kefu case list to show the case",
        )
        reference = re.search(r"FB-\d{4}-\d{6}", listing).group(0)  # type: ignore[union-attr]
        assert "刹车片异响" in listing and "new" in listing

        shown = _kefu(env, "case", "show", reference)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["reference"] == reference

        host, port = settings.http_listen
        request = urllib.request.Request(
            f"http://{host}:{port}/api/v1/cases", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert [c["reference"] for c in json.load(resp)["items"]] == [reference]

        outgoing = settings.data_dir / "outgoing"

        def acknowledgement() -> email.message.EmailMessage | None:
            for path in sorted(outgoing.glob("*.eml")) if outgoing.exists() else []:
                msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                if "zhang.wei@dfmc-parts.cn" in str(msg["To"]):
                    return msg
            return None

        ack = _wait(acknowledgement, "the acknowledgement in the outgoing folder")
        assert f"[{reference}]" in ack["Subject"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert proc.returncode == 0, log.read_text()[-2000:]
    # At the default level (INFO) the SMTP commands are not logged, addresses and all (aiosmtpd
    # would log each one at INFO); kefu's own lines redact the addresses they mention.
    printed = log.read_text()
    assert " INFO " in printed and "MAIL FROM" not in printed and "zhang.wei@" not in printed


def test_a_bad_state_filter_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    if not settings.sqlalchemy_url.startswith("sqlite"):
        pytest.skip("CLI argument checking does not depend on the database")
    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "x"}
    assert _kefu(env, "db", "upgrade").returncode == 0
    result = _kefu(env, "case", "list", "--state", "open")
    assert result.returncode == 1 and "unknown state 'open'" in result.stderr


@pytest.mark.parametrize("setting", ["KEFU_SMTP_LISTEN", "KEFU_HTTP_LISTEN"])
def test_kefu_serve_on_a_busy_port_says_so_in_one_line_naming_the_setting(
    settings: Settings, tmp_path: Path, setting: str
) -> None:
    if not settings.sqlalchemy_url.startswith("sqlite"):
        pytest.skip("listening does not depend on the database")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        env = {
            **os.environ,
            "KEFU_DATA_DIR": str(tmp_path),
            "KEFU_SECRET_KEY": "x",
            "KEFU_SMTP_LISTEN": f"127.0.0.1:{free_port()}",
            "KEFU_HTTP_LISTEN": f"127.0.0.1:{free_port()}",
            setting: busy,
        }
        result = subprocess.run(
            [sys.executable, "-m", "kefu", "serve"], env=env, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("kefu: ")]
    assert len(errors) == 1 and f"{setting}={busy}" in errors[0] and "address already in use" in errors[0]


def test_kefu_status_shows_mail_waiting_for_the_processor(settings: Settings, tmp_path: Path) -> None:
    if not settings.sqlalchemy_url.startswith("sqlite"):
        pytest.skip("the counts are the backlog query's, tested on both databases with GET /health")
    import asyncio

    from cases.domain.clock import utcnow
    from cases.store.db import Database, make_engine
    from intake.inbox import Inbox, RawInput

    env = {**os.environ, "KEFU_DATA_DIR": str(tmp_path), "KEFU_SECRET_KEY": "x"}
    assert _kefu(env, "db", "upgrade").returncode == 0
    idle = _kefu(env, "status")
    assert idle.returncode == 0, idle.stderr
    assert "0 not yet processed;" in idle.stdout and "0 to send; 0 given up on" in idle.stdout

    async def store() -> None:  # stored as SMTP would, with no kefu serve to process it
        db = Database(make_engine(Settings.from_env({"KEFU_DATA_DIR": str(tmp_path)}).sqlalchemy_url))
        try:
            await Inbox(db, utcnow).put(
                RawInput(channel=Channel.EMAIL, dedupe_key="k1", raw=b"Subject: x\r\n\r\nx\r\n")
            )
        finally:
            await db.dispose()

    asyncio.run(store())
    waiting = _kefu(env, "status")
    assert "1 not yet processed, the oldest for" in waiting.stdout, waiting.stdout
    counts = json.loads(_kefu(env, "status", "--json").stdout)
    assert counts["inbound_pending"] == 1 and counts["oldest_pending_seconds"] is not None
