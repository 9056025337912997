"""Pure tests: E.164 normalisation (China the default region) and the fax gateway rule table."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cases.archive.phones import BadNumber, normalise_identity, normalise_number
from cases.domain.enums import Channel, Language
from cases.domain.errors import InvalidInput
from cases.domain.intake_message import Attachment, IntakeMessage
from intake.doctext import tidy
from intake.fax_rules import UNKNOWN_NUMBER, as_fax, match_fax, site_rules


@pytest.mark.parametrize(
    "raw",
    [
        "+86 27 8456 1234",
        "027-8456 1234",
        "(027) 84561234",
        "0086 27 84561234",
        "86-27-84561234",
        "+862784561234",
        " 027 8456-1234 ",
    ],
)
def test_chinese_numbers_however_written_become_one_e164(raw: str) -> None:
    assert normalise_number(raw) == "+862784561234"


def test_mobiles_and_foreign_numbers_keep_their_country() -> None:
    assert normalise_number("138 0013 8000") == "+8613800138000"
    assert normalise_number("+49 30 1234567") == "+49301234567"
    assert normalise_number("0049 30 1234567") == "+49301234567"


@pytest.mark.parametrize("raw", ["", "12", "not a number", "+86 1"])
def test_what_is_not_a_number_is_refused_with_a_sentence(raw: str) -> None:
    with pytest.raises(BadNumber, match="telephone number"):
        normalise_number(raw)


def test_identities_are_normalised_by_kind() -> None:
    assert normalise_identity(Channel.FAX, "(027) 8456 1234") == "+862784561234"
    assert normalise_identity(Channel.EMAIL, " Wang.Jun@DFMC.cn ") == "wang.jun@dfmc.cn"
    with pytest.raises(InvalidInput):
        normalise_identity(Channel.EMAIL, "no address")
    with pytest.raises(InvalidInput, match="at most 254"):
        normalise_identity(Channel.EMAIL, "a" * 250 + "@dfmc.cn")
    assert normalise_identity(Channel.EMAIL, "a" * 245 + "@dfmc.cn") == "a" * 245 + "@dfmc.cn"  # 254: fits


HYLAFAX_BODY = """fax/recvq/fax000000123.tif (ftp://fax.example:4559/recvq/fax000000123.tif):
              Sender: +86 21 6543 2100
               Pages: 3
             Quality: Fine
            Received: 2026:11:30 14:05:12
             CallID1: 021 6543 2100
"""


@pytest.mark.parametrize(
    "sender, subject, body, rule, pages",
    [
        ("fax@gw.example.cn", "Fax from +86 27 8456 1234", "2 pages", "fax_from", 2),
        ("FaxMaster@fax.example", "Facsimile received from +86 21 6543 2100", HYLAFAX_BODY, "hylafax", 3),
        (
            "message@inbound.efax.com",
            'eFax message from "+86 27 8456 1234" - 4 page(s), Caller-ID: 86-27-84561234',
            "",
            "efax",
            4,
        ),
        (
            "service@ringcentral.com",
            "New Fax Message from +86 27 8456 1234 on 11/30/2026 at 2:05 PM",
            "Pages: 1",
            "ringcentral",
            1,
        ),
        ("fax@oa.example.cn", "收到新传真", "来自 027-84561234 的传真，共 2 页", "fax_from", 2),
    ],
)
def test_each_gateway_format_gives_the_caller_number_and_pages(
    sender: str, subject: str, body: str, rule: str, pages: int
) -> None:
    hit = match_fax(sender, subject, body)
    assert hit is not None and hit.rule == rule and hit.pages == pages
    assert hit.number in ("+862784561234", "+862165432100")


def test_hylafax_takes_the_caller_id_before_the_station_id() -> None:
    body = HYLAFAX_BODY.replace("Sender: +86 21 6543 2100", "Sender: SHANGHAI PARTS")
    hit = match_fax("faxmaster@fax.example", "Facsimile received", body)
    assert hit is not None and hit.number == "+862165432100" and hit.station == "SHANGHAI PARTS"


def test_a_customer_writing_fax_from_in_a_subject_is_not_a_gateway() -> None:
    assert match_fax("zhang.wei@dfmc-parts.cn", "Fax from +86 27 8456 1234", "") is None


def test_a_gateway_mail_without_a_number_is_still_a_fax_never_answered_to_the_gateway() -> None:
    hit = match_fax("fax@gw.example.cn", "New fax", "see attachment")
    assert hit is not None and hit.number == UNKNOWN_NUMBER and hit.rule_hit.endswith(":no_number")


def test_as_fax_turns_the_message_into_the_callers_fax_and_records_the_rule() -> None:
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id="7",
        sender_identity="fax@gw.example.cn",
        sender_name="GW",
        subject="Fax from +86 27 8456 1234",
        text="1 page",
        new_text="1 page",
        received_at=datetime(2026, 11, 30, tzinfo=UTC),
        language=Language.ZH,
    )
    msg = replace(msg, attachments=(Attachment("fax0001.pdf", "application/pdf", b"%PDF-1.4"),))
    fax = as_fax(msg, gateway="fax@gw.example.cn")
    assert (fax.channel, fax.sender_identity, fax.rule_hits) == (Channel.FAX, "+862784561234", ("fax:fax_from",))
    assert as_fax(msg, gateway="someone@else.cn") is msg


def test_a_mail_from_a_gateway_address_with_neither_number_nor_document_stays_an_email() -> None:

    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id="8",
        sender_identity="fax@customer.cn",
        sender_name="Fax",
        subject="问题反馈",
        text="刹车片异响",
        new_text="刹车片异响",
        received_at=datetime(2026, 11, 30, tzinfo=UTC),
        language=Language.ZH,
    )
    assert as_fax(msg, gateway="fax@customer.cn") is msg
    # A configured gateway (KEFU_FAX_GATEWAYS) needs no more: its scan without a caller is a fax.
    scan = replace(msg, attachments=(Attachment("scan.tif", "image/tiff", b"II*"),))
    scanned = as_fax(scan, gateway="fax@customer.cn", rules=site_rules(("fax@customer.cn",)))
    assert scanned.channel is Channel.FAX and scanned.sender_identity == UNKNOWN_NUMBER


def test_a_stranger_writing_from_a_fax_like_address_is_an_email() -> None:
    """fax@anything matches the built-in rules by its local part only: a fax needs the
    gateway's caller line and a fax document as well."""
    msg = IntakeMessage(
        channel=Channel.EMAIL,
        source_id="9",
        sender_identity="fax@gmail.com",
        sender_name="Fax",
        subject="Fax from +86 27 8456 1234",
        text="see the scan",
        new_text="see the scan",
        received_at=datetime(2026, 11, 30, tzinfo=UTC),
        language=Language.ZH,
    )
    scan = (Attachment("scan.tif", "image/tiff", b"II*"),)
    assert as_fax(msg, gateway="fax@gmail.com") is msg  # a caller, no document
    no_caller = replace(msg, subject="问题反馈", attachments=scan)
    assert as_fax(no_caller, gateway="fax@gmail.com") is no_caller  # a document, no caller
    assert as_fax(replace(msg, attachments=scan), gateway="fax@gmail.com").channel is Channel.FAX
    # a gateway's own domain is enough by itself
    efax = replace(msg, subject='eFax message from "+86 27 8456 1234" - 1 page(s)')
    assert as_fax(efax, gateway="message@inbound.efax.com").channel is Channel.FAX


def test_ocr_text_loses_the_spaces_tesseract_puts_between_chinese_characters() -> None:
    assert tidy("质 量 投 诉 : 刹 车 片\n\n\n\nPart 3501-00123 ok") == "质量投诉 : 刹车片\n\nPart 3501-00123 ok"


def test_the_sites_own_gateway_address_is_read_like_the_common_formats() -> None:
    from cases.settings import Settings
    from intake.fax_rules import RULES, site_rules

    settings = Settings.from_env({"KEFU_FAX_GATEWAYS": "Scanner@Works.example, *@fax.works.example"})
    rules = site_rules(settings.fax_gateways)
    assert rules[1:] == RULES and site_rules(()) == RULES
    subject, body = "Fax from +86 27 8456 1234", "2 pages"
    assert match_fax("scanner@works.example", subject, body) is None  # not a gateway we know of
    hit = match_fax("scanner@works.example", subject, body, rules)
    assert hit is not None and (hit.rule, hit.number, hit.pages) == ("site", "+862784561234", 2)
    assert match_fax("tx01@fax.works.example", "来自 027-84561234 的传真", "", rules).number == "+862784561234"  # type: ignore[union-attr]


def test_the_parse_step_uses_the_sites_gateways_in_the_worker_as_inline() -> None:
    from intake.fax_rules import site_rules
    from intake.prepare import RawRow, prepare

    raw = (
        b"From: scanner@works.example\r\nTo: service@kefu.example\r\nSubject: Fax from +86 27 8456 1234\r\n"
        b"Message-ID: <fx1@works.example>\r\n\r\nSee the attached fax.\r\n"
    )
    row = RawRow(1, raw, "scanner@works.example", ("service@kefu.example",), datetime(2026, 12, 1, tzinfo=UTC))
    plain = prepare(row, "FB")
    site = prepare(row, "FB", site_rules(("scanner@works.example",)))
    assert plain.message is not None and plain.message.channel is Channel.EMAIL
    assert site.message is not None and site.message.channel is Channel.FAX
    assert site.message.sender_identity == "+862784561234" and "fax:site" in site.message.rule_hits


async def test_the_site_gateways_reach_the_parse_worker_processes() -> None:
    from intake.fax_rules import site_rules
    from intake.parse_pool import ParsePool
    from intake.prepare import RawRow

    rows = [
        RawRow(
            n,
            (
                b"From: scanner@works.example\r\nTo: service@kefu.example\r\n"
                b"Subject: Fax from +86 27 8456 1234\r\nMessage-ID: <fx%d@works.example>\r\n\r\nfax\r\n" % n
            ),
            "scanner@works.example",
            ("service@kefu.example",),
            datetime(2026, 12, 1, tzinfo=UTC),
        )
        for n in (1, 2)
    ]
    pool = ParsePool(1, "FB", site_rules(("scanner@works.example",)))
    try:
        prepared = await pool.prepare(rows)
    finally:
        pool.close()
    assert [p.message.channel for p in prepared if p.message] == [Channel.FAX, Channel.FAX]
