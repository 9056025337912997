"""Settings are declared once (cases/settings.py): the reader, a Settings built in code and the
table in docs/settings.md all come from that declaration."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from cases.settings import Settings, SettingsError, env_name, settings_table

DOCS = Path(__file__).parent.parent / "docs" / "settings.md"


def test_the_table_in_docs_is_the_one_the_declaration_makes() -> None:
    text = DOCS.read_text()
    table = text.split("<!-- settings:begin -->\n", 1)[1].split("<!-- settings:end -->", 1)[0]
    assert table == settings_table(), "run `kefu settings --markdown` and paste its table into docs/settings.md"


def test_every_setting_has_a_meaning_and_a_row() -> None:
    table = settings_table()
    for f in fields(Settings):
        assert f.metadata["doc"].strip(), f.name
        assert f"| `{env_name(f.name)}` |" in table


def test_a_setting_left_out_of_the_environment_has_the_default_a_settings_built_in_code_has() -> None:
    from_env, in_code = Settings.from_env({}), Settings()
    for f in fields(Settings):
        if f.name != "instance_id":  # random either way
            assert getattr(from_env, f.name) == getattr(in_code, f.name), f.name


def test_each_kind_of_setting_is_read_from_its_text() -> None:
    s = Settings.from_env(
        {
            "KEFU_SMTP_LISTEN": "[::1]:2626",
            "KEFU_MAIL_DOMAINS": " Supplier.Example , b.example ",
            "KEFU_SERVICE_LOCAL_PART": "Kefu",
            "KEFU_REFERENCE_PREFIX": "cs",
            "KEFU_PUBLIC_URL": "https://k.example/",
            "KEFU_SATISFACTION_REMINDER_DAYS": "2.5",
            "KEFU_MAX_MESSAGE_BYTES": "1000",
            "KEFU_PARSE_WORKERS": "3",
            "KEFU_TELEGRAM_BOT_USERNAME": "@kefu_bot",
            "KEFU_DATA_DIR": "/srv/kefu",
            "KEFU_OUTGOING_SMTP": "",
            "KEFU_LOG_LEVEL": "debug",
        }
    )
    assert s.smtp_listen == ("::1", 2626)
    assert s.mail_domains == ("supplier.example", "b.example")
    assert (s.service_local_part, s.reference_prefix, s.public_url) == ("kefu", "CS", "https://k.example")
    assert (s.satisfaction_reminder_days, s.max_message_bytes) == (2.5, 1000)
    assert s.parse_workers == 3
    assert Settings.from_env({"KEFU_PARSE_WORKERS": "auto"}).parse_workers == Settings().parse_workers
    assert (s.telegram_bot_username, s.data_dir, s.log_level) == ("kefu_bot", Path("/srv/kefu"), "DEBUG")
    assert s.outgoing_smtp is None  # empty is unset


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KEFU_SMTP_LISTEN", "localhost"),
        ("KEFU_MAIL_DOMAINS", " , "),
        ("KEFU_TIMEZONE", "Mars/Olympus"),
        ("KEFU_MAX_MESSAGE_BYTES", "ten"),
        ("KEFU_MAX_MESSAGE_BYTES", "1.5"),
        ("KEFU_PARSE_WORKERS", "many"),
        ("KEFU_IMAP_POLL_SECONDS", "soon"),
    ],
)
def test_a_value_that_cannot_be_used_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_kefu_settings_prints_each_value_and_hides_secrets(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "KEFU_DATA_DIR": str(tmp_path),
        "KEFU_SECRET_KEY": "s3cret-value",
        "KEFU_HTTP_LISTEN": "127.0.0.1:9999",
    }
    out = subprocess.run(
        [sys.executable, "-m", "kefu", "settings"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "s3cret-value" not in out and "(set, hidden)" in out
    assert "('127.0.0.1', 9999)" in out
    markdown = subprocess.run(
        [sys.executable, "-m", "kefu", "settings", "--markdown"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert markdown == settings_table()
