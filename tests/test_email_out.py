"""Outgoing mail composition: parse our own bytes back the way a receiving client would."""

from __future__ import annotations

import base64
import email
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage

import pytest

from notifications.email_out import OutgoingEmail, build_email, make_message_id

DATE = datetime(2026, 3, 15, 1, 30, tzinfo=UTC)
TOKEN = "FB-2026-000123.v1.Zm9vYmFyYmF6cXV4"  # looks like a signed base64url token


def _mail(**overrides: object) -> OutgoingEmail:
    values: dict[str, object] = {
        "from_addr": "kefu 客服 <service@kefu.example>",
        "to": ("王伟 <wang@customer.example>",),
        "subject": "[FB-2026-000123] 我们已收到您的反馈",
        "body": "尊敬的客户：\n\n您好！我们已收到您的反馈。\n\n此致\n敬礼！\n",
        "message_id": make_message_id(TOKEN, "kefu.example"),
        "reply_to": "service+tok123@kefu.example",
        "loop_id": "kefu-prod-1",
    }
    values.update(overrides)
    return OutgoingEmail(**values)  # type: ignore[arg-type]


def _parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _header_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return head.split("\r\n")


def _long_ids(count: int, token_len: int) -> tuple[str, ...]:
    return tuple(f"kefu.{'x' * token_len}.{i:08x}@kefu.example" for i in range(count))


def _content(msg: EmailMessage) -> str:
    # Text parts travel in canonical form (CRLF, RFC 2046 section 4.1.1).
    text = msg.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def test_chinese_subject_and_body_round_trip() -> None:
    mail = _mail()
    msg = _parse(build_email(mail, DATE))

    assert msg["Subject"] == mail.subject
    assert _content(msg) == mail.body
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] in ("base64", "quoted-printable")


def test_chinese_display_names_are_encoded_and_round_trip() -> None:
    raw = build_email(_mail(), DATE)
    msg = _parse(raw)

    assert msg["From"].addresses[0].display_name == "kefu 客服"
    assert msg["From"].addresses[0].addr_spec == "service@kefu.example"
    assert msg["To"].addresses[0].display_name == "王伟"
    # On the wire the headers are pure ASCII: RFC 2047 encoded words.
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")
    assert b"=?utf-8?" in head


def test_output_has_crlf_line_endings_only() -> None:
    raw = build_email(_mail(body="line one\nline two\rline three\r\n"), DATE)

    assert b"\r\n" in raw
    assert re.search(rb"(?<!\r)\n", raw) is None
    assert re.search(rb"\r(?!\n)", raw) is None


def test_all_loop_and_threading_headers_are_set() -> None:
    parent = make_message_id(TOKEN, "kefu.example")
    mail = _mail(
        in_reply_to=parent, references=(parent,), language="en", extra_headers=(("X-Kefu-Case", "FB-2026-000123"),)
    )
    msg = _parse(build_email(mail, DATE))

    assert msg["Date"].datetime == DATE
    assert msg["Message-ID"] == f"<{mail.message_id}>"
    assert msg["In-Reply-To"] == f"<{parent}>"
    assert msg["References"] == f"<{parent}>"
    assert msg["Reply-To"] == "service+tok123@kefu.example"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Kefu-Loop"] == "kefu-prod-1"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Content-Language"] == "en"
    assert msg["X-Kefu-Case"] == "FB-2026-000123"
    assert msg["MIME-Version"] == "1.0"


def test_date_keeps_the_given_offset() -> None:
    beijing = timezone(timedelta(hours=8))
    msg = _parse(build_email(_mail(), DATE.astimezone(beijing)))

    assert msg["Date"].endswith("+0800")
    assert msg["Date"].datetime == DATE


def test_loop_header_is_present_even_without_instance_id() -> None:
    msg = _parse(build_email(_mail(loop_id=""), DATE))

    assert msg["X-Kefu-Loop"] == "kefu"


def test_twenty_long_references_stay_on_one_unfolded_line() -> None:
    ids = _long_ids(20, token_len=18)  # 20 ids of 45 characters: a 971-character line
    raw = build_email(_mail(references=ids, in_reply_to=ids[-1]), DATE)

    lines = _header_lines(raw)
    refs = [line for line in lines if line.startswith("References: ")]
    assert len(refs) == 1
    index = lines.index(refs[0])
    assert not lines[index + 1].startswith((" ", "\t")), "References was folded"
    assert len(refs[0]) > 900
    assert refs[0] == "References: " + " ".join(f"<{i}>" for i in ids)
    assert "=?" not in refs[0]
    assert _parse(raw)["In-Reply-To"] == f"<{ids[-1]}>"


def test_references_longer_than_998_keep_root_and_newest_on_one_line() -> None:
    ids = _long_ids(20, token_len=60)  # 87 characters each: far beyond one line
    raw = build_email(_mail(references=ids), DATE)

    refs = [line for line in _header_lines(raw) if line.startswith("References: ")]
    assert len(refs) == 1
    assert len(refs[0]) <= 998
    kept = re.findall(r"<([^>]+)>", refs[0])
    assert kept[0] == ids[0], "the thread root must survive trimming"
    assert kept[-1] == ids[-1], "the direct parent must survive trimming"
    assert kept[1:] == list(ids[len(ids) - len(kept) + 1 :])


def test_long_message_ids_are_never_encoded_or_folded() -> None:
    long_token = "FB-2026-000123.v1." + "A" * 80
    mail = _mail(
        message_id=make_message_id(long_token, "kefu.example"), in_reply_to=make_message_id(long_token, "kefu.example")
    )
    raw = build_email(mail, DATE)

    lines = _header_lines(raw)
    for name in ("Message-ID", "In-Reply-To"):
        (line,) = [x for x in lines if x.startswith(name + ": ")]
        assert "=?" not in line
        assert not lines[lines.index(line) + 1].startswith(" ")
    assert _parse(raw)["Message-ID"] == f"<{mail.message_id}>"


def test_long_chinese_subject_uses_short_encoded_words() -> None:
    subject = "[FB-2026-000123] 关于转向拉杆球头批次质量问题的投诉，请尽快处理并提交8D报告，谢谢配合"
    raw = build_email(_mail(subject=subject), DATE)

    words = re.findall(rb"=\?[^?]+\?[bBqQ]\?[^?]*\?=", raw.split(b"\r\n\r\n", 1)[0])
    assert words
    assert max(len(w) for w in words) <= 75  # RFC 2047 section 2
    one_line_ids = ("Message-ID:", "In-Reply-To:", "References:")
    assert all(len(line) <= 76 for line in _header_lines(raw) if not line.startswith(one_line_ids))
    # The subject tag stays readable for threading by naive clients and our own intake.
    assert b"Subject: [FB-2026-000123] " in raw
    assert _parse(raw)["Subject"] == subject


def test_long_chinese_body_has_short_base64_lines() -> None:
    body = "经分析，异响由球头润滑不足引起，我们已对同批次零件进行排查。" * 40 + "\n"
    raw = build_email(_mail(body=body), DATE)

    payload = raw.split(b"\r\n\r\n", 1)[1]
    assert max(len(line) for line in payload.split(b"\r\n")) <= 76  # RFC 2045 section 6.8
    assert base64.b64decode(payload).decode("utf-8").replace("\r\n", "\n") == body
    assert _content(_parse(raw)) == body


def test_ascii_body_goes_out_as_7bit() -> None:
    msg = _parse(build_email(_mail(body="Dear customer,\n\nthank you.\n"), DATE))

    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert _content(msg) == "Dear customer,\n\nthank you.\n"


def test_body_gets_a_final_line_break() -> None:
    msg = _parse(build_email(_mail(body="您好"), DATE))

    assert _content(msg) == "您好\n"


def test_naive_date_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_email(_mail(), datetime(2026, 3, 15, 9, 30))


def test_mail_without_recipients_is_refused() -> None:
    with pytest.raises(ValueError, match="recipient"):
        build_email(_mail(to=()), DATE)


def test_line_breaks_in_a_subject_cannot_inject_headers() -> None:
    with pytest.raises(ValueError):
        build_email(_mail(subject="hello\r\nBcc: victim@example.com"), DATE)


def test_auto_submitted_can_be_left_out() -> None:
    msg = _parse(build_email(_mail(auto_submitted=""), DATE))

    assert msg["Auto-Submitted"] is None


def test_message_id_embeds_the_token_and_is_unique() -> None:
    first = make_message_id(TOKEN, "kefu.example")
    second = make_message_id(TOKEN, "kefu.example")

    assert first != second
    assert re.fullmatch(rf"kefu\.{re.escape(TOKEN)}\.[0-9a-f]{{16}}@kefu\.example", first)


@pytest.mark.parametrize("token", ["", "has space", "a@b", "a..b", "<x>", "a\nb"])
def test_message_id_refuses_tokens_that_would_break_the_header(token: str) -> None:
    with pytest.raises(ValueError):
        make_message_id(token, "kefu.example")


def test_ids_given_with_brackets_are_not_doubled() -> None:
    msg = _parse(build_email(_mail(in_reply_to="<a.b@c>", references=("<a.b@c>",)), DATE))

    assert msg["In-Reply-To"] == "<a.b@c>"
    assert msg["References"] == "<a.b@c>"
