"""thread_hints: Message-IDs, reply-address tokens and subject tags that may name a case."""

from __future__ import annotations

import pytest

from cases.domain.intake_message import ThreadHints
from intake.mailparse import parse_mail
from intake.mailthread import thread_hints


def _mail(headers: str) -> bytes:
    return ("From: zhang@example.com\n" + headers.strip()).replace("\n", "\r\n").encode() + b"\r\n\r\nbody\r\n"


def test_plain_new_mail_has_no_hints() -> None:
    assert thread_hints(parse_mail(_mail("To: service@kefu.example\nSubject: 新投诉")), []) == ThreadHints()


def test_in_reply_to_comes_first_then_references_newest_first_without_repeats() -> None:
    raw = _mail(
        "Subject: Re: x\nIn-Reply-To: <m3@kefu.example>\n"
        "References: <m1@kefu.example> <m2@kefu.example>\n <m3@kefu.example>"
    )
    hints = thread_hints(parse_mail(raw), [])
    assert hints.message_ids == ("m3@kefu.example", "m2@kefu.example", "m1@kefu.example")


def test_address_token_from_envelope_recipient_keeps_its_case() -> None:
    raw = _mail("To: service@kefu.example\nSubject: Re: x")
    assert thread_hints(parse_mail(raw), ["service+Ab3_x9@kefu.example"]).address_token == "Ab3_x9"


def test_address_token_from_to_header_keeps_its_case() -> None:
    raw = _mail('To: "客服" <service+Ab3_x9@kefu.example>\nSubject: Re: x')
    assert thread_hints(parse_mail(raw), []).address_token == "Ab3_x9"


def test_address_token_from_cc_and_delivered_to() -> None:
    assert thread_hints(parse_mail(_mail("To: a@example.com\nCc: service+Tok@kefu.example")), []).address_token == "Tok"
    raw = _mail("Delivered-To: service+Imap1@kefu.example\nTo: undisclosed-recipients:;")
    assert thread_hints(parse_mail(raw), []).address_token == "Imap1"


def test_envelope_recipient_wins_over_headers() -> None:
    raw = _mail("To: service+FromHeader@kefu.example")
    assert thread_hints(parse_mail(raw), ["service+Envelope@kefu.example"]).address_token == "Envelope"


@pytest.mark.parametrize(
    ("subject", "reference"),
    [
        ("Re: 满意度确认 [FB-2026-000123]", "FB-2026-000123"),
        ("回复：满意度确认【FB-2026-000123】", "FB-2026-000123"),
        ("Re:[fb-2026-000123]满意度", "FB-2026-000123"),
        ("Re: [ FB-2026-000123 ] and [FB-2026-000999]", "FB-2026-000123"),
        ("Re: ［FB－2026－000123］", "FB-2026-000123"),
        ("Re: FB-2026-000123 without brackets", None),
        ("Re: [FB-26-123]", None),
    ],
)
def test_subject_tag(subject: str, reference: str | None) -> None:
    parsed = parse_mail(_mail(f"Subject: {subject}"))
    assert thread_hints(parsed, []).subject_reference == reference


def test_folded_subject_tag_is_found() -> None:
    parsed = parse_mail(_mail("Subject: =?utf-8?B?5Zue5aSN77ya5ruh5oSP5bqm56Gu6K6k?=\n [FB-2026-000123]"))
    assert thread_hints(parsed, []).subject_reference == "FB-2026-000123"


def test_other_reference_prefix() -> None:
    parsed = parse_mail(_mail("Subject: Re: [KF-2026-000042]"))
    assert thread_hints(parsed, [], reference_prefix="KF").subject_reference == "KF-2026-000042"
    assert thread_hints(parsed, []).subject_reference is None
