"""Tests of the benchmark corpus generator (bench/corpus.py)."""

from __future__ import annotations

import email
import re
from collections import Counter
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr
from pathlib import Path

import pytest

from bench.corpus import KIND_SHARES, OPENING_KINDS, CorpusMessage, generate_corpus, write_corpus

CHINESE_NEW = ("new_zh", "gb2312_gbk_chars", "gbk_header")
_PREFIX = re.compile(r"^(?:Re|RE|回复|答复|Automatic reply|自动回复)\s*[:：]\s*")
_TAG = re.compile(r"^\[FB-2026-(\d{6})\]\s*")


@pytest.fixture(scope="module")
def corpus() -> list[CorpusMessage]:
    return generate_corpus()


Parsed = list[tuple[CorpusMessage, Message]]


@pytest.fixture(scope="module")
def parsed(corpus: list[CorpusMessage]) -> Parsed:
    """Each message with its parse (``email.message_from_bytes``, the compat32 default)."""
    return [(m, email.message_from_bytes(m.data)) for m in corpus]


def _subject(data: bytes) -> str:
    """The Subject as the sender wrote it; raw 8-bit headers are GBK in this corpus."""
    found = re.search(rb"^Subject: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", data, re.MULTILINE)
    assert found is not None
    raw = found.group(1).replace(b"\r\n", b"")
    if not raw.isascii():
        return raw.decode("gb18030")
    return str(make_header(decode_header(raw.decode("ascii"))))


def _base_subject(subject: str) -> str:
    return _TAG.sub("", _PREFIX.sub("", subject))


def _address(message: Message) -> str:
    return parseaddr(str(message["From"]))[1]


def test_same_seed_gives_the_same_bytes() -> None:
    assert generate_corpus(300, seed=11) == generate_corpus(300, seed=11)
    assert generate_corpus(300, seed=11) != generate_corpus(300, seed=12)


@pytest.mark.parametrize("n", [0, 1, 57, 2000])
def test_count_is_what_was_asked(n: int) -> None:
    assert len(generate_corpus(n)) == n


def test_the_mix_follows_the_planned_shares(corpus: list[CorpusMessage]) -> None:
    counts = Counter(m.kind for m in corpus)
    assert set(counts) == {kind for kind, _ in KIND_SHARES}
    for kind, percent in KIND_SHARES:
        assert abs(counts[kind] / len(corpus) - percent / 100) < 0.03, kind
    chinese = sum(counts[k] for k in CHINESE_NEW) / len(corpus)
    assert 0.41 < chinese < 0.49
    replies = (counts["reply_header"] + counts["reply_subject_tag"]) / len(corpus)
    assert 0.16 < replies < 0.24


def test_about_300_senders_at_about_60_domains(corpus: list[CorpusMessage]) -> None:
    senders = {m.sender for m in corpus}
    assert 250 <= len(senders) <= 300
    assert 50 <= len({s.split("@")[1] for s in senders}) <= 60
    assert all(m.recipients == ("service@kefu.example",) for m in corpus)
    assert generate_corpus(5, domain="x.test")[0].recipients == ("service@x.test",)


def test_every_message_parses_and_has_the_essential_headers(parsed: Parsed) -> None:
    ids = []
    for message, msg in parsed:
        for header in ("Message-ID", "From", "Subject", "Date"):
            assert msg[header], (header, message.kind)
        assert _address(msg) == message.sender
        assert not msg.defects, message.kind
        ids.append(msg["Message-ID"])
        # CRLF only, and no line longer than RFC 5322's 998 octets
        assert b"\n" not in message.data.replace(b"\r\n", b"")
        assert max(len(line) for line in message.data.split(b"\r\n")) <= 998
    assert len(set(ids)) == len(ids)


def test_header_replies_name_an_earlier_message_of_the_same_sender(parsed: Parsed) -> None:
    earlier: dict[str, str] = {}  # Message-ID -> sender
    checked = 0
    for message, msg in parsed:
        if message.kind == "reply_header":
            parent = msg["In-Reply-To"]
            assert earlier[parent] == message.sender
            assert msg["References"].split()[-1] == parent
            assert all(ref in earlier for ref in msg["References"].split())
            checked += 1
        earlier[msg["Message-ID"]] = message.sender
    assert checked > 100


def test_subject_replies_repeat_an_earlier_subject_of_the_same_sender(parsed: Parsed) -> None:
    subjects: set[tuple[str, str]] = set()  # (sender, subject without prefix)
    checked = 0
    for message, msg in parsed:
        subject = _subject(message.data)
        if message.kind == "reply_subject_tag":
            assert msg["In-Reply-To"] is None and msg["References"] is None
            assert _PREFIX.match(subject) and not _TAG.match(_PREFIX.sub("", subject))
            assert (message.sender, _base_subject(subject)) in subjects
            checked += 1
        subjects.add((message.sender, _base_subject(subject)))
    assert checked > 100


def test_subject_tags_name_the_ordinal_of_the_thread_opening_when_asked() -> None:
    corpus = generate_corpus(600, with_subject_tags=True)
    openings = [m for m in corpus if m.kind in OPENING_KINDS]
    tagged = [m for m in corpus if m.kind == "reply_subject_tag"]
    assert tagged
    for message in tagged:
        tag = _TAG.match(_PREFIX.sub("", _subject(message.data)))
        assert tag is not None
        opening = openings[int(tag.group(1)) - 1]
        assert opening.sender == message.sender
        assert _base_subject(_subject(opening.data)) == _base_subject(_subject(message.data))
    assert not any("[FB-" in _subject(m.data) for m in generate_corpus(600))


def _text_parts(parsed: Message) -> list[Message]:
    return [
        p for p in parsed.walk() if p.get_content_maintype() == "text" and p.get_content_disposition() != "attachment"
    ]


def test_declared_charsets_are_honest_except_in_the_mislabelled_kind(parsed: Parsed) -> None:
    charsets: Counter[str] = Counter()
    for message, msg in parsed:
        for part in _text_parts(msg):
            payload = part.get_payload(decode=True)
            charset = part.get_content_charset()
            assert isinstance(payload, bytes) and charset
            charsets[charset] += 1
            if message.kind == "gb2312_gbk_chars":
                assert charset == "gb2312"
                with pytest.raises(UnicodeDecodeError):
                    payload.decode("gb2312")
                assert "联系人" in payload.decode("gb18030")
            else:
                payload.decode(charset)  # strict
    assert {"utf-8", "gbk", "gb18030", "gb2312", "us-ascii"} <= set(charsets)


def test_every_transfer_encoding_occurs(parsed: Parsed) -> None:
    encodings = Counter(str(p["Content-Transfer-Encoding"]) for _, msg in parsed for p in _text_parts(msg))
    assert {"base64", "quoted-printable", "8bit", "7bit"} <= set(encodings)


def test_gbk_header_kind_has_raw_8bit_gbk_in_from_and_subject(
    corpus: list[CorpusMessage],
) -> None:
    for message in (m for m in corpus if m.kind == "gbk_header"):
        head = message.data.split(b"\r\n\r\n", 1)[0]
        for name in (b"From", b"Subject"):
            line = re.search(rb"^" + name + rb": ([^\r\n]*)", head, re.MULTILINE)
            assert line is not None and not line.group(1).isascii()
            line.group(1).decode("gbk")


def test_out_of_office_replies_are_marked_auto_replied(parsed: Parsed) -> None:
    for message, msg in parsed:
        auto = msg["Auto-Submitted"]
        assert (auto == "auto-replied") == (message.kind == "out_of_office")
        if auto:
            assert _subject(message.data).startswith(("自动回复", "Automatic reply"))


def test_attachments_have_names_and_realistic_sizes(parsed: Parsed) -> None:
    names = []
    for _, msg in (pair for pair in parsed if pair[0].kind == "attachment"):
        files = [p for p in msg.walk() if p.get_content_disposition() == "attachment"]
        assert 1 <= len(files) <= 3
        for part in files:
            filename = part.get_filename()
            assert filename is not None
            name = str(make_header(decode_header(filename)))
            names.append(name)
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes) and 5 * 1024 <= len(data) <= 61 * 1024
            assert data.startswith(b"%PDF-" if name.endswith(".pdf") else b"\xff\xd8")
    assert any(not n.isascii() for n in names)
    assert all(n.endswith((".pdf", ".jpg")) for n in names)
    raw = b"".join(m.data for m, _ in parsed if m.kind == "attachment")
    assert b"filename*=UTF-8''" in raw and b"filename*0*=" in raw and b"filename*=GBK''" in raw


def test_html_only_messages_have_no_plain_text(parsed: Parsed) -> None:
    for _, msg in (pair for pair in parsed if pair[0].kind == "html_only"):
        types = {p.get_content_type() for p in msg.walk()}
        assert types == {"text/html"}


def test_write_corpus_writes_one_file_per_message_and_an_index(tmp_path: Path) -> None:
    messages = generate_corpus(25)
    write_corpus(messages, tmp_path / "corpus")
    rows = (tmp_path / "corpus" / "index.tsv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "file\tkind\tsender" and len(rows) == 26
    for row, message in zip(rows[1:], messages, strict=True):
        name, kind, sender = row.split("\t")
        assert (kind, sender) == (message.kind, message.sender)
        assert (tmp_path / "corpus" / name).read_bytes() == message.data


def test_a_corpus_of_2000_messages_has_2000_distinct_mails() -> None:
    """How fast it generates is the bench's to say (`make bench` prints it), not a timed test's."""
    corpus = generate_corpus(2000, seed=3)
    assert len(corpus) == 2000
    assert len({m.data for m in corpus}) == 2000
