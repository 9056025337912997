"""The reply address's token threads for KEFU_REPLY_TOKEN_DAYS (issue 17, "Hostile clients" 6):
dated, signed, refused once old; the undated tokens of notices sent before still thread, until
that many days after the end of their case's year."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cases.domain.tokens import Signer
from cases.settings import Settings

ISSUED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_a_reply_token_threads_until_its_days_are_over() -> None:
    signer = Signer("secret", reply_token_days=180)
    token = signer.reply_token("FB-2026-000123", ISSUED)
    assert token.startswith("fb-2026-000123.d")
    assert signer.address_reference(token, ISSUED + timedelta(days=179)) == "FB-2026-000123"
    assert signer.address_reference(token.upper(), ISSUED + timedelta(days=1)) == "FB-2026-000123"
    assert signer.address_reference(token, ISSUED + timedelta(days=181)) is None


def test_a_reply_token_cannot_be_forged_or_redated() -> None:
    signer = Signer("secret")
    token = signer.reply_token("FB-2026-000123", ISSUED)
    assert Signer("other").address_reference(token, ISSUED) is None
    ref, day, sig = token.split(".")
    later = f"{ref}.d{int(day[1:]) + 300}.{sig}"  # a fresher date under the old signature
    assert signer.address_reference(later, ISSUED + timedelta(days=400)) is None
    assert signer.address_reference(f"fb-2026-000124.{day}.{sig}", ISSUED) is None


def test_an_undated_token_from_before_counts_from_the_end_of_its_cases_year() -> None:
    signer = Signer("secret", reply_token_days=180)
    old = signer.case_token("FB-2025-000007")
    assert signer.address_reference(old, datetime(2026, 6, 1, tzinfo=UTC)) == "FB-2025-000007"
    assert signer.address_reference(old, datetime(2026, 7, 1, tzinfo=UTC)) is None


def test_the_days_are_a_setting_of_180_by_default() -> None:
    assert Settings().reply_token_days == 180
    assert Settings.from_env({"KEFU_REPLY_TOKEN_DAYS": "30"}).reply_token_days == 30
