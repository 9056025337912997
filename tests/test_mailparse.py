"""parse_mail: real mail bytes in, a plain value out; Chinese mail and damaged mail included."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from intake.charsets import decode_bytes, decode_words, header_params
from intake.mailparse import MailParseError, detect_language, parse_mail, safe_filename

GBK_ONLY = "朱镕基 – 质量问题"  # 镕 and – are not in GB2312; Python's gb2312 codec rejects them


def _mail(headers: str, body: bytes) -> bytes:
    return headers.strip().replace("\n", "\r\n").encode("ascii") + b"\r\n\r\n" + body


def _with_attachment(**disposition_params: object) -> bytes:
    msg = MIMEMultipart()
    msg["From"] = "buyer@example.com"
    msg["Subject"] = "attachment"
    msg.attach(MIMEText("see attachment", "plain", "utf-8"))
    part = MIMEApplication(b"%PDF-1.4", "pdf")
    part.add_header("Content-Disposition", "attachment", **disposition_params)  # type: ignore[arg-type]
    msg.attach(part)
    return msg.as_bytes()


# --- Chinese text -------------------------------------------------------------------------


def test_gb2312_part_with_gbk_only_characters_keeps_them() -> None:
    raw = _mail(
        "From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=gb2312\nContent-Transfer-Encoding: 8bit",
        GBK_ONLY.encode("gbk"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == GBK_ONLY
    assert "\ufffd" not in parsed.text
    assert "charset gb2312 decoded as gb18030" in parsed.defects


def test_base64_gb2312_part_built_with_email_mime_is_decoded_as_gb18030() -> None:
    msg = MIMEText(base64.b64encode(GBK_ONLY.encode("gbk")).decode(), "plain")
    msg.replace_header("Content-Type", 'text/plain; charset="gb2312"')
    msg.replace_header("Content-Transfer-Encoding", "base64")
    msg["Subject"] = "=?gb2312?B?" + base64.b64encode("镕".encode("gbk")).decode() + "?="
    parsed = parse_mail(msg.as_bytes())
    assert parsed.text == GBK_ONLY
    assert parsed.subject == "镕"


def test_raw_8bit_gbk_subject_and_from_name_are_recovered() -> None:
    raw = (
        b"From: " + "张三".encode("gbk") + b" <Zhang.San@Example.COM>\r\n"
        b"Subject: " + "关于刹车片的质量投诉".encode("gbk") + b"\r\n\r\nbody\r\n"
    )
    parsed = parse_mail(raw)
    assert parsed.subject == "关于刹车片的质量投诉"
    assert parsed.sender is not None
    assert parsed.sender.name == "张三"
    assert parsed.sender.address == "zhang.san@example.com"
    assert parsed.language == "zh"


def test_raw_8bit_utf8_subject_is_recovered() -> None:
    raw = b"From: a@example.com\r\nSubject: " + "质量投诉".encode() + b"\r\n\r\nbody\r\n"
    assert parse_mail(raw).subject == "质量投诉"


def test_part_declaring_utf8_but_encoded_in_gbk_is_detected() -> None:
    raw = _mail(
        "From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=utf-8",
        "产品出现裂纹，请尽快处理。".encode("gbk"),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "产品出现裂纹，请尽快处理。"
    assert any("declared charset utf-8 was wrong" in d for d in parsed.defects)


def test_part_declaring_gb2312_but_encoded_in_utf8_is_detected() -> None:
    raw = _mail(
        "From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=gb2312",
        "产品出现裂纹，请尽快处理。".encode(),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "产品出现裂纹，请尽快处理。"
    assert "declared charset gb2312 was wrong, detected utf-8" in parsed.defects


def test_8bit_body_without_charset_tries_utf8_then_gb18030() -> None:
    utf8 = _mail("From: a@example.com\nSubject: x", "你好".encode())
    gbk = _mail("From: a@example.com\nSubject: x", "你好".encode("gbk"))
    assert parse_mail(utf8).text == "你好"
    assert parse_mail(gbk).text == "你好"


def test_unknown_charset_falls_back_to_detection_without_replacement_characters() -> None:
    raw = _mail("From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=x-nonsense", "质量".encode())
    parsed = parse_mail(raw)
    assert parsed.text == "质量"


def test_rfc2047_subject_split_inside_a_character_is_joined() -> None:
    data = "质量问题".encode()
    first, second = base64.b64encode(data[:4]).decode(), base64.b64encode(data[4:]).decode()
    raw = _mail(f"From: a@example.com\nSubject: =?UTF-8?B?{first}?=\n =?UTF-8?B?{second}?=", b"x")
    assert parse_mail(raw).subject == "质量问题"


def test_folded_subject_is_unfolded_and_whitespace_collapsed() -> None:
    raw = _mail("From: a@example.com\nSubject: Re: brake pads\n   cracked  [FB-2026-000123]", b"x")
    assert parse_mail(raw).subject == "Re: brake pads cracked [FB-2026-000123]"


def test_encoded_display_name_with_comma_stays_one_address() -> None:
    name = base64.b64encode("Zhang, San 张".encode()).decode()
    raw = _mail(f"From: a@example.com\nTo: =?utf-8?B?{name}?= <Z@Example.com>, b@example.com", b"x")
    parsed = parse_mail(raw)
    assert [(a.name, a.address) for a in parsed.to] == [("Zhang, San 张", "z@example.com"), ("", "b@example.com")]


def test_broken_rfc2047_base64_does_not_raise() -> None:
    assert decode_words("=?utf-8?B?5L2g5!!?=") is not None
    assert parse_mail(_mail("From: a@example.com\nSubject: =?utf-8?B?%%%?=", b"x")).subject is not None


def test_decode_bytes_reports_no_defect_for_plain_gb2312() -> None:
    assert decode_bytes("质量".encode("gb2312"), "GB2312").defect is None


def test_detect_language() -> None:
    assert detect_language("The brake pads cracked after 200 km") == "en"
    assert detect_language("刹车片裂了") == "zh"
    assert detect_language("Order 123 " + "x" * 500 + " 质量") == "en"


# --- structure ----------------------------------------------------------------------------


def test_header_fields_are_decoded() -> None:
    raw = _mail(
        "From: Zhang <zhang@example.com>\nReply-To: Li <li@example.com>\nCc: c@example.com\n"
        "Message-ID:  <abc.123@mail.example.com> \nIn-Reply-To: <x1@kefu.example>\n"
        "References: <x0@kefu.example>\n <x1@kefu.example>\nDate: Fri, 20 Nov 2026 10:00:00 +0800\n"
        "Auto-Submitted: no\nX-Unrelated: dropped",
        b"x",
    )
    parsed = parse_mail(raw)
    assert parsed.message_id == "abc.123@mail.example.com"
    assert parsed.reply_to is not None and parsed.reply_to.address == "li@example.com"
    assert parsed.cc[0].address == "c@example.com"
    assert parsed.in_reply_to == ("x1@kefu.example",)
    assert parsed.references == ("x0@kefu.example", "x1@kefu.example")
    assert parsed.date == datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert parsed.headers["auto-submitted"] == "no"
    assert "x-unrelated" not in parsed.headers


def test_unreadable_date_is_none_and_noted() -> None:
    parsed = parse_mail(_mail("From: a@example.com\nDate: someday soon", b"x"))
    assert parsed.date is None
    assert parsed.defects


def test_html_only_mail_gives_readable_text_and_sanitised_html() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<p>刹车片<b>开裂</b></p><script>alert('x')</script><div>第二行<br>第三行</div>"
        "<ul><li>一</li><li>二</li></ul><a href='javascript:alert(1)' onclick='x()'>link</a></body></html>"
    )
    msg = EmailMessage()
    msg["From"] = "a@example.com"
    msg.set_content(html, subtype="html")
    parsed = parse_mail(msg.as_bytes())
    assert parsed.text == "刹车片开裂\n\n第二行\n第三行\n\n一\n\n二\n\nlink"
    assert "alert" not in parsed.text and "color" not in parsed.text
    assert parsed.html is not None
    assert "<script" not in parsed.html and "javascript:" not in parsed.html and "onclick" not in parsed.html
    assert "<b>开裂</b>" in parsed.html


def test_alternative_prefers_plain_text_but_keeps_html() -> None:
    msg = MIMEMultipart("alternative")
    msg["From"] = "a@example.com"
    msg.attach(MIMEText("plain version", "plain", "utf-8"))
    msg.attach(MIMEText("<p>html version</p>", "html", "utf-8"))
    parsed = parse_mail(msg.as_bytes())
    assert parsed.text == "plain version"
    assert parsed.html == "<p>html version</p>"


def test_empty_plain_alternative_falls_back_to_html_text() -> None:
    msg = MIMEMultipart("alternative")
    msg.attach(MIMEText(" ", "plain", "utf-8"))
    msg.attach(MIMEText("<p>only here</p>", "html", "utf-8"))
    assert parse_mail(msg.as_bytes()).text == "only here"


def test_inline_image_with_content_id_is_an_inline_attachment() -> None:
    related = MIMEMultipart("related")
    related.attach(MIMEText('<p>photo:</p><img src="cid:crack@x">', "html", "utf-8"))
    image = MIMEImage(b"\x89PNG\r\n\x1a\n", "png")
    image.add_header("Content-ID", "<crack@x>")
    related.attach(image)
    outer = MIMEMultipart("mixed")
    outer.attach(related)
    parsed = parse_mail(outer.as_bytes())
    assert parsed.text == "photo:"
    assert parsed.html is not None and 'src="cid:crack@x"' in parsed.html
    [attachment] = parsed.attachments
    assert attachment.inline and attachment.content_type == "image/png"
    assert attachment.data == b"\x89PNG\r\n\x1a\n"
    assert attachment.filename == "attachment-1.png"


def test_forwarded_message_is_attached_as_eml() -> None:
    inner = EmailMessage()
    inner["Subject"] = "原始投诉"
    inner["From"] = "c@example.com"
    inner.set_content("inner body")
    outer = EmailMessage()
    outer["From"] = "a@example.com"
    outer.set_content("see forwarded")
    outer.add_attachment(inner)
    parsed = parse_mail(outer.as_bytes())
    assert parsed.text == "see forwarded"
    [attachment] = parsed.attachments
    assert attachment.content_type == "message/rfc822"
    assert attachment.filename == "原始投诉.eml"
    assert b"inner body" in attachment.data


def test_multipart_report_bounce_is_flagged() -> None:
    raw = _mail(
        "From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        b"--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        b"Final-Recipient: rfc822; nobody@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        b"--B--\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.is_report
    assert parsed.text.startswith("I'm sorry")
    assert parsed.attachments[0].content_type == "message/delivery-status"


# --- damage -------------------------------------------------------------------------------


def test_declared_boundary_never_appearing_keeps_body_text() -> None:
    raw = _mail(
        'From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary="declared"',
        "客户反馈：刹车片开裂\r\n".encode(),
    )
    parsed = parse_mail(raw)
    assert parsed.text == "客户反馈：刹车片开裂"
    assert any("broken MIME boundary" in d for d in parsed.defects)


def test_body_using_another_boundary_is_recovered_with_it() -> None:
    encoded = base64.b64encode("刹车片开裂".encode())
    raw = _mail(
        'From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary="declared"',
        b"--actual\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + encoded
        + b"\r\n--actual--\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.text == "刹车片开裂"
    assert "broken MIME boundary, recovered with actual" in parsed.defects


def test_missing_closing_boundary_keeps_every_part() -> None:
    raw = _mail(
        'From: a@example.com\nSubject: x\nContent-Type: multipart/mixed; boundary="B"',
        b"--B\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--B\r\nContent-Type: text/plain\r\n\r\nsecond\r\n",
    )
    parsed = parse_mail(raw)
    assert parsed.text == "first\n\nsecond"
    assert "broken MIME boundary: closing boundary missing" in parsed.defects


def test_base64_with_garbage_does_not_raise_and_keeps_the_good_part() -> None:
    good = base64.b64encode("质量问题".encode())
    raw = _mail(
        "From: a@example.com\nSubject: x\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64",
        good + b"\r\n!!\xff\xfe@@@\r\nQ",
    )
    parsed = parse_mail(raw)
    assert parsed.text.startswith("质量问题")
    assert "damaged base64 body repaired" in parsed.defects


def test_concatenated_base64_blocks_are_all_decoded() -> None:
    body = base64.b64encode(b"hello ") + b"\r\n" + base64.b64encode(b"world")
    raw = _mail("From: a@example.com\nContent-Transfer-Encoding: base64", body)
    assert parse_mail(raw).text == "hello world"


def test_quoted_printable_gbk_body() -> None:
    msg = MIMEText(GBK_ONLY, "plain", "gb18030")
    del msg["Content-Transfer-Encoding"]
    import quopri

    msg.set_payload(quopri.encodestring(GBK_ONLY.encode("gbk")).decode("ascii"))
    msg["Content-Transfer-Encoding"] = "quoted-printable"
    msg.set_param("charset", "GBK")
    assert parse_mail(msg.as_bytes()).text == GBK_ONLY


def test_empty_input_is_not_a_mail() -> None:
    with pytest.raises(MailParseError):
        parse_mail(b"")
    with pytest.raises(MailParseError):
        parse_mail(b"just some words without any structure")


def test_headers_only_mail_parses() -> None:
    parsed = parse_mail(b"From: a@example.com\r\nSubject: empty\r\n")
    assert parsed.subject == "empty" and parsed.text == ""


# --- attachment names ---------------------------------------------------------------------


def test_path_traversal_filename_keeps_only_the_last_element() -> None:
    assert parse_mail(_with_attachment(filename="../../etc/passwd")).attachments[0].filename == "passwd"
    assert parse_mail(_with_attachment(filename="..\\..\\boot.ini")).attachments[0].filename == "boot.ini"


def test_rfc2231_chinese_filename_is_decoded() -> None:
    raw = _with_attachment(filename=("utf-8", "", "质量.pdf"))
    assert b"filename*=utf-8''%E8%B4%A8%E9%87%8F.pdf" in raw
    assert parse_mail(raw).attachments[0].filename == "质量.pdf"


def test_rfc2231_continuations_are_joined() -> None:
    _, params = header_params("attachment; filename*0*=UTF-8''%E8%B4%A8; filename*1*=%E9%87%8F; filename*2=.pdf")
    assert params["filename"] == "质量.pdf"


def test_rfc2047_encoded_filename_is_decoded() -> None:
    name = base64.b64encode("检测报告.xlsx".encode("gbk")).decode()
    raw = _with_attachment(filename=f"=?GB2312?B?{name}?=")
    assert parse_mail(raw).attachments[0].filename == "检测报告.xlsx"


def test_raw_8bit_gbk_filename_is_decoded() -> None:
    raw = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nbody\r\n--B\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="' + "镕钢.pdf".encode("gbk") + b'"\r\n\r\n%PDF\r\n--B--\r\n'
    )
    [attachment] = parse_mail(raw).attachments
    assert attachment.filename == "镕钢.pdf"
    assert attachment.data == b"%PDF"
    assert not attachment.inline


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CON", "attachment-3.pdf"),
        ("con.txt", "attachment-3.pdf"),
        ("", "attachment-3.pdf"),
        ("..", "attachment-3.pdf"),
        (".htaccess", "htaccess"),
        ("a\x00b\u202ecod.exe", "abcod.exe"),
        ('what?<is>"this".pdf', "what__is__this_.pdf"),
        ("报告 2026.pdf", "报告 2026.pdf"),
    ],
)
def test_unsafe_filenames_are_made_safe(name: str, expected: str) -> None:
    assert safe_filename(name, "application/pdf", 3) == expected


def test_long_filename_is_cut_keeping_the_extension() -> None:
    name = safe_filename("质" * 400 + ".pdf", "application/pdf", 1)
    assert len(name) == 150 and name.endswith(".pdf")


def test_html_with_unclosed_head_keeps_the_body_text() -> None:
    raw = _mail(
        "From: a@example.com\nContent-Type: text/html",
        b"<html><head><meta charset=gbk><title>t</title><body><p>" + "质量问题".encode("gbk") + b"</p>",
    )
    assert parse_mail(raw).text == "质量问题"  # and the <meta> charset was used


@pytest.mark.parametrize(
    "raw",
    [
        b'From: =?x\x00y?Q?=FF?= <a@example.com>\r\nContent-Type: text/plain; charset="\x00"\r\n\r\n\xff\xfe',
        b"Content-Type: text/plain; charset=base64\r\n\r\nnot base64 at all",
        b"Content-Type: text/html; charset=zlib\r\n\r\n<p>x</p>",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 60,
        b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n'
        b"Subject: \xff\xfe\r\n\r\nbody\r\n--x--\r\n",
        b"Subject: =?utf-8?B?\r\n =?utf-8?Q?=ZZ?=\r\nDate: Mon, 99 Foo 99999 99:99:99\r\n\r\nx",
    ],
)
def test_hostile_input_does_not_raise(raw: bytes) -> None:
    parse_mail(raw)
