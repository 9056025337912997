"""Our subjects keep every space when folded (issue 13, item 11): no space lost before "—",
none doubled after "Re:", in Chinese and English; decoded as a reader would decode them."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

import pytest

from intake.mailparse import parse_mail
from notifications.email_out import FOLD_LENGTH, OutgoingEmail, build_email, build_email_stdlib

DATE = datetime(2026, 11, 2, 9, 12, tzinfo=UTC)
SUBJECTS = [
    "[FB-2026-000001] 我们已收到您的反馈 — 刹车片异响，批量问题，请尽快处理，零件号 3501-00123",
    "Re: [FB-2026-000001] 您的反馈 — 已处理",
    "回复： [FB-2026-000001] 您的反馈 —— 已处理 with English words 中文 — and more text to fold it twice over",
    "Re: [FB-2026-000001] We have received your complaint — Bremsscheibe Unwucht, Teilenummer 4A0-615-301",
    "Re: [FB-2026-000001] Ihre Reklamation — „Bremsbeläge“ mit Geräusch – Rückbelastung 1.240 € je Charge",
    "[FB-2026-000001] Case closed — thank you",
    "Re: [FB-2026-000001] A plain ASCII subject that is long enough to be folded by the header folder twice",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_a_folded_subject_decodes_to_exactly_what_we_wrote(subject: str) -> None:
    mail = OutgoingEmail(
        from_addr="kefu 客服 <service@kefu.example>",
        to=("zhang.wei@dfmc-parts.cn",),
        subject=subject,
        body="正文",
        message_id="kefu.x.1@kefu.example",
    )
    data = build_email(mail, DATE)
    assert data == build_email_stdlib(mail, DATE)
    head = data.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= FOLD_LENGTH for line in head.split(b"\r\n") if not line.startswith(b"Message-ID"))
    assert email.message_from_bytes(data, policy=email.policy.default)["Subject"] == subject
    assert email.message_from_bytes(data, policy=email.policy.compat32)["Subject"] is not None
    assert parse_mail(data).subject == " ".join(subject.split())  # kefu's own reader (it collapses runs)
