"""Every bench entry point runs and reports what it measured, on a small corpus (the figures
themselves are for `make bench`, never asserted)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bench(module: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("client", ["pipelining", "bdat", "smtplib"])
def test_ingest_runs_the_three_measurements_and_every_mail_becomes_a_case_or_a_message(client: str) -> None:
    out = bench("bench.ingest", "--messages", "40", "--client", client)
    found = re.search(r"\((\d+) messages in [\d.]+ s: (\d+) cases, (\d+) quarantined, (\d+) client errors\)", out)
    assert found, out
    assert (found[1], found[3], found[4]) == ("40", "0", "0") and 0 < int(found[2]) <= 40, out
    assert re.search(r"ratio pipeline / parse-only : +\d+\.\d\d", out), out
    assert f"SMTP clients ({client})" in out


def test_smtp_cpu_compares_both_data_readers() -> None:
    out = bench("bench.smtp_cpu", "--messages", "40", "--rounds", "1")
    assert len(re.findall(r"round 1 (?:aiosmtpd line by line|kefu chunked) *: +[\d.]+ ms CPU/mail", out)) == 2, out
    assert "only" not in out  # every mail stored, no client errors


def test_processor_drains_the_stored_corpus() -> None:
    out = bench("bench.processor", "--messages", "40", "--runs", "1")
    assert re.search(r"40 mails in [\d.]+ s: \d+ mails/s, 0 quarantined; CPU per mail: kefu process [\d.]+ ms", out), (
        out
    )


def test_dispatch_sends_the_notices_of_the_cases() -> None:
    out = bench("bench.dispatch", "--messages", "40")
    found = re.search(r"(\d+) notices sent in .*\((\d+) deliveries attempted", out)
    assert found and int(found[1]) > 0, out


def test_write_floor_writes_every_mail_as_a_case() -> None:
    out = bench("bench.write_floor", "--messages", "40", "--runs", "1")
    assert re.search(r"40 mails: [\d.]+ ms CPU a mail", out), out


def test_api_during_intake_answers_every_request_while_the_mail_comes_in() -> None:
    out = bench("bench.api_during_intake", "--seconds", "2", "--mails-per-second", "20", "--requests-per-second", "10")
    assert re.search(r"intake: 40 mails sent in [\d.]+ s \(0 errors\), 40 processed", out), out
    assert re.search(r"GET /api/v1/cases: 20 answered \(0 errors\); latency ms p50 [\d.]+", out), out


def test_field_scan_times_the_early_warning_over_a_generated_history() -> None:
    out = bench("bench.field_scan", "--records", "5000", "--runs", "1")
    found = re.search(r"scan of 5,000 records: [\d.]+ s median .*RSS \d+ -> \d+ MiB", out)
    assert found, out
    assert re.search(r"run 1: .* 1 new alerts", out), out  # the planted rise
    assert re.search(r"  field_rates +[\d.]+ ms", out), out  # the report's sections over the records
    assert re.search(r"marketing report of 2026Q4: [\d.]+ s for all its sections", out), out
    assert re.search(r"export of 5,200 records to xlsx: [\d.]+ s wall", out), out  # the planted 200 too


def test_many_cases_writes_the_cases_it_says_and_they_can_be_searched(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'many.sqlite3'}"
    out = bench("bench.many_cases", "--cases", "300", "--database-url", url)
    found = re.search(r"bench.many_cases: 300 cases, (\d+) messages in [\d.]+ s", out)
    assert found and int(found[1]) >= 300, out
    import sqlite3

    db = sqlite3.connect(tmp_path / "many.sqlite3")
    assert db.execute("SELECT count(*) FROM cases").fetchone() == (300,)
    assert db.execute("SELECT count(*) FROM case_search").fetchone() == (300,)
    # The same seed, the same cases: the series continues where intake will number the next one.
    assert db.execute("SELECT sum(last_value) FROM reference_counters").fetchone() == (300,)


def test_case_list_measures_every_kind_of_request_and_the_acknowledgement_lag() -> None:
    out = bench(
        "bench.case_list",
        *("--cases", "300", "--rate", "20", "--seconds", "2", "--mails-per-second", "10", "--ack-wait", "60"),
    )
    assert re.search(r"answered 40 \(0 errors\), achieved \d+ req/s", out), out
    for kind in ("list", "filtered", "search", "detail"):
        assert re.search(rf"  {kind} +10 +[\d.]+ +[\d.]+", out), out
    found = re.search(r"intake: 20 mails sent \(0 errors\), (\d+) new cases", out)
    assert found, out
    assert re.search(
        rf"acknowledgement lag \(commit to sent\): {found[1]} of {found[1]} acknowledged; s p50 [\d.]+", out
    )


def test_case_list_serves_from_separate_web_processes() -> None:
    out = bench(
        "bench.case_list",
        *("--cases", "200", "--rate", "20", "--seconds", "1", "--mails-per-second", "0", "--web-workers", "2"),
    )
    assert "2 web processes beside the main one" in out and "answered 20 (0 errors)" in out, out


def test_case_list_measures_the_consoles_pages_signed_in() -> None:
    out = bench(
        "bench.case_list",
        *("--cases", "200", "--rate", "20", "--seconds", "1", "--mails-per-second", "0", "--console"),
    )
    assert "one kefu process; the console's pages" in out and "answered 20 (0 errors)" in out, out
    for kind in ("list", "filtered", "search", "detail"):
        assert re.search(rf"  {kind} +5 +[\d.]+ +[\d.]+", out), out
