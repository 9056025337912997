"""What staff need to judge a mail (issue 13, item 14): each attachment's type read from its
bytes beside the declared one, flagged when they disagree, and the sanitised HTML of a message
as a download, never inline from our origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from cases.domain.actors import Actor
from cases.domain.enums import Role
from cases.domain.filetypes import mismatch, sniff
from cases.domain.intake_message import Attachment
from cases.queries.case_views import EVERYTHING, case_detail, message_html
from cases.settings import Settings
from cases.store.models import Case
from kefu.bootstrap import Kefu
from tests.apihelpers import Api, api_fixture, open_case  # noqa: F401  (the `api` fixture)
from tests.conftest import ListTransport
from tests.mailhelpers import eventually, smtp_send
from tests.served import served

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 16


@pytest.mark.parametrize(
    ("declared", "filename", "data", "flagged"),
    [
        ("application/pdf", "检验报告.pdf", PDF, False),
        ("application/pdf", "检验报告.pdf", EXE, True),  # a "PDF" that is an executable
        ("application/octet-stream", "invoice.pdf", EXE, True),  # generic type, the name lies
        ("application/x-msdownload", "invoice.pdf", EXE, True),  # honest type, disguised name
        ("image/jpg", "photo.png", PNG, True),
        ("image/x-png", "photo.png", PNG, False),  # an alias
        ("application/octet-stream", "scan", PNG, False),  # nothing claimed
        ("text/plain", "notes.txt", "零件号 3501".encode(), False),  # bytes filetype does not know
    ],
)
def test_the_sniffed_type_is_judged_against_the_declared_type_and_the_name(
    declared: str, filename: str, data: bytes, flagged: bool
) -> None:
    assert mismatch(declared, filename, sniff(data)) is flagged


async def test_the_case_shows_each_attachments_sniffed_type_and_a_mismatch_flag(api: Api) -> None:
    ref = await open_case(
        api.kefu,
        "检验报告",
        attachments=(
            Attachment("检验报告.pdf", "application/pdf", PDF),
            Attachment("报告.pdf", "application/pdf", EXE),
        ),
    )
    case = await api.call("sales", "GET", f"/cases/{ref}")
    shown = [
        (a["filename"], a["content_type"], a["sniffed_type"], a["type_mismatch"])
        for a in case["messages"][0]["attachments"]
    ]
    assert shown == [
        ("检验报告.pdf", "application/pdf", "application/pdf", False),
        ("报告.pdf", "application/pdf", "application/x-msdownload", True),
    ]


async def test_the_sanitised_html_of_a_message_is_a_download_never_inline(api: Api) -> None:
    ref = await open_case(api.kefu, "刹车片异响", html="<p>装车后<b>刹车片</b>异响。</p>")
    message = (await api.call("sales", "GET", f"/cases/{ref}"))["messages"][0]
    assert message["has_html"] and message["html_url"] == f"/api/v1/cases/{ref}/messages/{message['id']}/html"

    resp = await api.client.get(message["html_url"], headers={"Authorization": f"Bearer {api.tokens['sales']}"})
    assert resp.status == 200
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert f"{ref}-message-{message['id']}.html" in resp.headers["Content-Disposition"]
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert "<b>刹车片</b>" in (await resp.read()).decode()


async def test_a_message_without_html_or_of_another_case_has_no_download(api: Api) -> None:
    plain = await open_case(api.kefu, "刹车片异响")
    other = await open_case(api.kefu, "转向器漏油", html="<p>漏油</p>")
    plain_id = (await api.call("sales", "GET", f"/cases/{plain}"))["messages"][0]["id"]
    other_id = (await api.call("sales", "GET", f"/cases/{other}"))["messages"][0]["id"]
    assert (await api.call("sales", "GET", f"/cases/{plain}"))["messages"][0]["html_url"] is None
    await api.error("sales", "GET", f"/cases/{plain}/messages/{plain_id}/html", expect=404)
    await api.error("sales", "GET", f"/cases/{plain}/messages/{other_id}/html", expect=404)


@pytest.fixture
async def served_kefu(settings: Settings) -> AsyncIterator[Kefu]:
    async with served(settings, transport=ListTransport(), http=False) as running:
        yield running


async def test_over_smtp_a_disguised_attachment_is_flagged_and_the_html_is_kept_for_download(
    served_kefu: Kefu,
) -> None:
    kefu = served_kefu
    mail = EmailMessage()
    mail["From"] = "Zhao Lei <zhao.lei@yutong-parts.cn>"
    mail["To"] = "service@kefu.example"
    mail["Subject"] = "Inspection report"
    mail["Message-ID"] = "<att1@yutong-parts.cn>"
    mail.set_content("Please see the report.")
    mail.add_alternative("<p>Please see the <b>report</b>.</p><script>alert(1)</script>", subtype="html")
    mail.add_attachment(EXE, maintype="application", subtype="pdf", filename="report.pdf")
    await smtp_send(kefu.settings.smtp_listen[1], mail)

    async def stored() -> str | None:
        async with kefu.db.reader() as s:
            return (await s.execute(select(Case.reference))).scalar_one_or_none()

    ref = await eventually(stored, what="the case")
    async with kefu.db.reader() as s:
        detail = await case_detail(s, EVERYTHING, ref, Actor("gm", frozenset({Role.APPROVER})))
        message = detail["messages"][0]
        html = await message_html(s, EVERYTHING, ref, message["id"])
    (att,) = message["attachments"]
    assert (att["content_type"], att["sniffed_type"], att["type_mismatch"]) == (
        "application/pdf",
        "application/x-msdownload",
        True,
    )
    assert message["html_url"] and "<b>report</b>" in html and "<script>" not in html
