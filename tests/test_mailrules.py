"""The loop and noise rule table: each rule, and how their actions combine."""

from __future__ import annotations

import pytest

from intake.mailparse import parse_mail
from intake.mailrules import RULES, MailAction, evaluate


def _mail(extra_headers: str = "", subject: str = "刹车片开裂", sender: str = "buyer@example.com") -> bytes:
    head = f"From: {sender}\nTo: service@kefu.example\nSubject: {subject}\n{extra_headers}".strip()
    return head.replace("\n", "\r\n").encode() + b"\r\n\r\nbody\r\n"


def test_ordinary_customer_mail_is_accepted() -> None:
    verdict = evaluate(parse_mail(_mail()), "buyer@example.com")
    assert verdict.action is MailAction.ACCEPT
    assert verdict.hits == ()
    assert not verdict.is_automatic


def test_rule_names_are_unique() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))


def test_our_own_loop_header_holds_the_mail() -> None:
    verdict = evaluate(parse_mail(_mail("X-Kefu-Loop: kefu.example")), "service@kefu.example")
    assert verdict.action is MailAction.HOLD
    assert "loop" in verdict.hits


def test_loop_wins_over_weaker_rules() -> None:
    raw = _mail("X-Kefu-Loop: kefu.example\nAuto-Submitted: auto-generated\nPrecedence: bulk")
    verdict = evaluate(parse_mail(raw), "")
    assert verdict.action is MailAction.HOLD
    assert verdict.hits == ("loop", "auto_submitted", "precedence_bulk", "null_sender")


def test_multipart_report_is_a_bounce() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.com\r\nSubject: Undelivered Mail\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--B--\r\n"
    )
    verdict = evaluate(parse_mail(raw), "")
    assert verdict.action is MailAction.NO_AUTO_REPLY
    assert "bounce" in verdict.hits
    assert verdict.is_automatic


def test_mailer_daemon_from_null_sender_is_a_bounce() -> None:
    verdict = evaluate(parse_mail(_mail(sender="MAILER-DAEMON@mx.example.com")), "")
    assert "bounce" in verdict.hits and verdict.is_automatic


def test_postmaster_with_a_real_envelope_sender_is_not_a_bounce() -> None:
    verdict = evaluate(parse_mail(_mail(sender="postmaster@example.com")), "postmaster@example.com")
    assert verdict.action is MailAction.ACCEPT


@pytest.mark.parametrize("value", ["auto-generated", "auto-replied", "auto-notified; owner-email=x@y"])
def test_auto_submitted_other_than_no_gets_no_auto_reply(value: str) -> None:
    verdict = evaluate(parse_mail(_mail(f"Auto-Submitted: {value}")), "a@example.com")
    assert verdict.action is MailAction.NO_AUTO_REPLY
    assert verdict.hits == ("auto_submitted",)
    assert verdict.is_automatic


def test_auto_submitted_no_is_accepted() -> None:
    assert evaluate(parse_mail(_mail("Auto-Submitted: No")), "a@example.com").action is MailAction.ACCEPT


@pytest.mark.parametrize(
    ("value", "rule"), [("bulk", "precedence_bulk"), ("junk", "precedence_bulk"), ("list", "precedence_list")]
)
def test_precedence_bulk_junk_list_gets_no_auto_reply(value: str, rule: str) -> None:
    verdict = evaluate(parse_mail(_mail(f"Precedence: {value}")), "a@example.com")
    assert verdict.action is MailAction.NO_AUTO_REPLY
    assert verdict.hits == (rule,)


def test_list_mail_is_not_answered_but_is_not_automatic() -> None:
    for header in ("List-Id: <parts.lists.example.com>", "List-Unsubscribe: <mailto:u@example.com>"):
        verdict = evaluate(parse_mail(_mail(header)), "a@example.com")
        assert verdict.action is MailAction.NO_AUTO_REPLY
        assert verdict.hits == ("mailing_list",)
        assert not verdict.is_automatic  # a person wrote it; a reply may still be a rating


@pytest.mark.parametrize("header", ["X-Autoreply: yes", "X-Autorespond: vacation"])
def test_autoreply_headers_mark_an_automatic_mail(header: str) -> None:
    verdict = evaluate(parse_mail(_mail(header)), "a@example.com")
    assert verdict.hits == ("autoreply_header",) and verdict.is_automatic


@pytest.mark.parametrize("value", ["OOF, AutoReply", "All", "oof"])
def test_auto_response_suppress_asks_for_no_auto_reply(value: str) -> None:
    verdict = evaluate(parse_mail(_mail(f"X-Auto-Response-Suppress: {value}")), "a@example.com")
    assert verdict.action is MailAction.NO_AUTO_REPLY
    assert verdict.hits == ("suppress_header",)


def test_auto_response_suppress_for_other_kinds_is_ignored() -> None:
    verdict = evaluate(parse_mail(_mail("X-Auto-Response-Suppress: DR, RN")), "a@example.com")
    assert verdict.action is MailAction.ACCEPT


def test_null_envelope_sender_gets_no_auto_reply() -> None:
    for envelope in ("", "<>"):
        verdict = evaluate(parse_mail(_mail()), envelope)
        assert verdict.hits == ("null_sender",) and verdict.is_automatic


def test_unknown_envelope_uses_return_path() -> None:
    assert evaluate(parse_mail(_mail("Return-Path: <>")), None).hits == ("null_sender",)
    assert evaluate(parse_mail(_mail("Return-Path: <b@example.com>")), None).hits == ()
    assert evaluate(parse_mail(_mail()), None).hits == ()


@pytest.mark.parametrize(
    "subject",
    [
        "自动回复: 关于满意度调查 [FB-2026-000123]",
        "自动答复：满意度确认",
        "Auto-Reply: your case",
        "Automatic reply: Satisfaction survey",
        "Out of Office: Re: FB-2026-000123",
        "【休假】满意度确认",
        "我正在休假",
        "不在办公室: 满意度确认",
    ],
)
def test_out_of_office_subject_is_automatic(subject: str) -> None:
    verdict = evaluate(parse_mail(_mail(subject=subject)), "a@example.com")
    assert verdict.hits == ("out_of_office",)
    assert verdict.action is MailAction.NO_AUTO_REPLY
    assert verdict.is_automatic


def test_complaint_mentioning_a_holiday_is_not_out_of_office() -> None:
    verdict = evaluate(parse_mail(_mail(subject="国庆休假期间到货的刹车片开裂")), "a@example.com")
    assert verdict.action is MailAction.ACCEPT
