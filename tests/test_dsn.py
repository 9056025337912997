"""Reading bounces (intake/dsn.py): what each MTA's report says of which recipient and mail."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from intake.dsn import read_report
from intake.mailparse import parse_mail
from intake.mailrules import evaluate
from tests import dsn_samples as samples

OURS = "kefu.fb-2026-000001.abcdefghijkl.0123456789abcdef@kefu.example"
RCPT = "k.weber@zf-zulieferer.de"


@pytest.mark.parametrize(
    ("make", "status", "kind"),
    [
        (samples.postfix, "5.1.1", "rfc3464"),
        (samples.exim, "5.0.0", "rfc3464"),
        (samples.exim_plain, "5.0.0", "plain"),
        (samples.exchange, "5.1.10", "rfc3464"),
        (samples.gmail, "5.1.1", "rfc3464"),
        (samples.qmail, "5.1.1", "plain"),
    ],
)
def test_each_mta_report_names_the_recipient_its_status_and_our_message(
    make: Callable[[str, str], bytes], status: str, kind: str
) -> None:
    raw = make(RCPT, OURS)
    assert "bounce" in evaluate(parse_mail(raw), "").hits
    report = read_report(raw)
    assert report is not None and report.kind == kind
    assert report.original_message_ids == (OURS,)
    [recipient] = report.recipients
    assert (recipient.address, recipient.action, recipient.status) == (RCPT, "failed", status)
    assert recipient.permanent


def test_a_postfix_delay_warning_is_delayed_4_4_1_and_not_permanent() -> None:
    report = read_report(samples.postfix(RCPT, OURS, action="delayed"))
    assert report is not None
    [recipient] = report.recipients
    assert (recipient.action, recipient.status, recipient.permanent) == ("delayed", "4.4.1", False)
    assert "timed out" in recipient.diagnostic


def test_plain_text_bounce_does_not_take_our_own_address_from_the_copy() -> None:
    report = read_report(samples.qmail(RCPT, OURS))
    assert report is not None
    assert [r.address for r in report.recipients] == [RCPT]


def test_the_verp_token_is_kept_even_when_the_report_returns_no_headers() -> None:
    raw = b"From: MAILER-DAEMON@x.example\r\nTo: service+b7.abc@kefu.example\r\nSubject: failure\r\n\r\nno.\r\n"
    report = read_report(raw, ("b7.abc",))
    assert report is not None and report.return_tokens == ("b7.abc",)


def test_mail_that_names_nothing_is_no_report() -> None:
    assert read_report(b"From: MAILER-DAEMON@x.example\r\nSubject: hello\r\n\r\nNothing here.\r\n") is None
