"""deploy/kefu.service (issue 17, item 12): systemd itself reads the unit without a complaint,
it runs `kefu serve` with the settings file, restarts on failure, and is hardened (systemd's own
exposure score). Skipped where systemd-analyze is not installed (Debian: systemd)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).parent.parent / "deploy" / "kefu.service"
INSTALLED_KEFU = "/opt/kefu/.venv/bin/kefu"  # where the unit expects kefu (docs/operating.md)

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (Debian: systemd)"
)


def _here(tmp_path: Path, extra: str = "") -> Path:
    """The unit as installed on this machine: `verify` checks that ExecStart's program exists."""
    kefu = Path(sys.executable).parent / "kefu"
    assert kefu.exists(), "the kefu entry point is installed beside this Python"
    text = UNIT.read_text().replace(INSTALLED_KEFU, str(kefu)).replace("[Service]\n", "[Service]\n" + extra, 1)
    unit = tmp_path / "kefu.service"
    unit.write_text(text)
    return unit


def _complaints(unit: Path) -> list[str]:
    """What `systemd-analyze verify` says of the unit (it exits 0 on unknown keys and bad values,
    saying so on stderr: every line about the unit counts)."""
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if unit.name in line]
    return lines + ([f"exit status {done.returncode}"] if done.returncode else [])


def _settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith(("#", "[")):
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_reads_the_unit_without_a_complaint(tmp_path: Path) -> None:
    assert _complaints(_here(tmp_path)) == []


def test_the_check_would_see_a_mistake(tmp_path: Path) -> None:
    """The test above is no empty check: a misspelt key and a bad value are seen."""
    assert len(_complaints(_here(tmp_path, "Restart=sometimes\nProtectSistem=strict\n"))) == 2


def test_the_unit_runs_kefu_serve_with_its_settings_file_and_restarts_on_failure() -> None:
    s = _settings(UNIT.read_text())
    assert s["ExecStart"] == [f"{INSTALLED_KEFU} serve"]
    assert s["EnvironmentFile"] == ["/etc/kefu/kefu.env"]
    assert s["Restart"] == ["on-failure"]
    assert "KEFU_DATA_DIR=/var/lib/kefu" in s["Environment"] and s["StateDirectory"] == ["kefu"]
    assert s["User"] == ["kefu"] and s["KillMode"] == ["mixed"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes"}.items():
        assert s[key] == [value], key


def test_systemd_scores_the_unit_as_well_hardened(tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(_here(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0 and "offline" in done.stderr:
        pytest.skip(f"this systemd-analyze cannot score a unit file offline: {done.stderr.strip()[:200]}")
    score = re.search(r"Overall exposure level for kefu\.service: ([\d.]+) (\w+)", done.stdout)
    assert score is not None, done.stdout[-2000:] + done.stderr
    assert float(score.group(1)) <= 2.0, done.stdout  # systemd: 0 safest, 10 exposed; "OK" up to 3.9
