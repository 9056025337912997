"""The direct mail writer (`build_email`) produces the same bytes as the stdlib composition
(`build_email_stdlib`) it replaced, for the mail the dispatcher sends and for odd values."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from notifications.email_out import OutgoingEmail, build_email, build_email_stdlib, make_message_id

DATE = datetime(2026, 3, 15, 1, 30, 7, 123456, tzinfo=UTC)
BEIJING = timezone(timedelta(hours=8))
ID = make_message_id("FB-2026-000123.v1.Zm9vYmFyYmF6cXV4", "kefu.example")

ZH_BODY = "尊敬的客户：\n\n您好！我们已收到您的反馈。\n\n此致\n敬礼！\n"
LONG_ZH_BODY = "经分析，异响由球头润滑不足引起，我们已对同批次零件进行排查。\n" * 30
MOSTLY_ASCII = ("Dear customer,\n\nyour case FB-2026-000123 is closed.\n" * 6) + "Thanks — kefu\n"

CASES: dict[str, dict[str, object]] = {
    "acknowledgement": {},
    "english": {
        "subject": "[FB-2026-000123] We have received your feedback",
        "body": "Dear customer,\n\nthank you.\n",
        "language": "en",
    },
    "chinese name in To": {"to": ("王伟 <wang@customer.example>",)},
    "quoted name in To": {"to": ('"Wang, Wei" <wang@customer.example>',)},
    "two recipients": {"to": ("a@customer.example", "b@customer.example")},
    "long recipient list": {"to": tuple(f"someone.{i}@customer.example" for i in range(5))},
    "ascii from": {"from_addr": "service@kefu.example"},
    "long chinese subject": {
        "subject": "[FB-2026-000123] 关于转向拉杆球头批次质量问题的投诉，请尽快处理并提交8D报告，谢谢配合"
    },
    "long ascii subject": {"subject": "[FB-2026-000123] " + "quality problem with the tie rod " * 4},
    "subject with encoded word": {"subject": "=?utf-8?b?5oiR?= literally"},
    "subject with double space": {"subject": "a  b"},
    "subject with edge spaces": {"subject": " padded "},
    "subject with tab": {"subject": "a\tb"},
    "empty subject": {"subject": ""},
    "threaded": {
        "in_reply_to": "abc.123@mail.customer.example",
        "references": ("root@x.example", "abc.123@mail.customer.example"),
    },
    "odd id": {"in_reply_to": '"quoted"@x.example', "references": ('"quoted"@x.example', "ok@x.example")},
    "non-ascii id": {"in_reply_to": "编号@x.example"},
    "long references": {"references": tuple(f"kefu.{'x' * 60}.{i:08x}@kefu.example" for i in range(40))},
    "long message id": {"message_id": make_message_id("FB-2026-000123.v1." + "A" * 80, "kefu.example")},
    "no reply-to": {"reply_to": None},
    "no auto-submitted": {"auto_submitted": ""},
    "no loop id": {"loop_id": ""},
    "long chinese body": {"body": LONG_ZH_BODY},
    "mostly ascii body": {"body": MOSTLY_ASCII},
    "long ascii lines": {"body": "x" * 200 + "\nshort\n"},
    "odd line breaks": {"body": "one\rtwo\r\nthree\x0bfour\x0cfive\x85six\u2028seven"},
    "from line and dots": {"body": "From here\n.\n..dots\n"},
    "empty body": {"body": ""},
}


def _mail(**overrides: object) -> OutgoingEmail:
    values: dict[str, object] = {
        "from_addr": "kefu 客服 <service@kefu.example>",
        "to": ("wang@customer.example",),
        "subject": "[FB-2026-000123] 我们已收到您的反馈",
        "body": ZH_BODY,
        "message_id": ID,
        "reply_to": "service+tok123@kefu.example",
        "loop_id": "kefu-prod-1",
    }
    values.update(overrides)
    return OutgoingEmail(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(CASES))
def test_direct_writer_matches_the_stdlib_composition(name: str) -> None:
    mail = _mail(**CASES[name])
    for date in (DATE, DATE.astimezone(BEIJING)):
        assert build_email(mail, date) == build_email_stdlib(mail, date)


def test_direct_writer_matches_on_random_text() -> None:
    words = "abc XYZ 019 .,:;()<>@\"'=?-_\t您好反馈质量，。！ßé"
    breaks = "\n\r\x85\x0b"
    rng = random.Random(7)
    for i in range(400):

        def text(alphabet: str, n: int) -> str:
            return "".join(rng.choice(alphabet) for _ in range(rng.randrange(n)))

        # One in ten subjects holds a line break: both must refuse it alike.
        subject = text(words + (breaks if i % 10 == 0 else ""), 120)
        mail = _mail(subject=subject, body=text(words + breaks + "\n" * 5, 600), loop_id=text(words, 20))
        assert _outcome(build_email, mail) == _outcome(build_email_stdlib, mail), (subject, mail.body)


def _outcome(build: object, mail: OutgoingEmail) -> bytes | str:
    """The bytes, or the error for a value no header may hold (a line break such as U+0085)."""
    try:
        return build(mail, DATE)  # type: ignore[operator, no-any-return]
    except ValueError as exc:
        return f"ValueError: {exc}"


def test_line_breaks_in_a_header_are_refused_by_both() -> None:
    for build in (build_email, build_email_stdlib):
        with pytest.raises(ValueError):
            build(_mail(subject="hello\r\nBcc: victim@example.com"), DATE)
        with pytest.raises(ValueError):
            build(_mail(to=("a@b.example\r\nBcc: victim@example.com",)), DATE)


def test_extra_headers_go_through_the_stdlib() -> None:
    mail = _mail(extra_headers=(("X-Test", "值"), ("Precedence", "bulk")))
    assert build_email(mail, DATE) == build_email_stdlib(mail, DATE)
    assert b"\r\nPrecedence: bulk\r\n" in build_email(mail, DATE)
