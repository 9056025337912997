"""A deterministic generator of realistic inbound customer mail, for benchmarks and tests.

``generate_corpus(n, seed)`` returns the same bytes for the same arguments on every run and
platform (one seeded ``random.Random``, no clock, no hash ordering). The mix follows
``KIND_SHARES``: new complaints in Chinese (UTF-8, GBK, GB18030, honest GB2312; base64,
quoted-printable and 8bit; ``gb2312_gbk_chars`` declares gb2312 but holds GBK-only characters;
``gbk_header`` has raw 8-bit GBK in From and Subject), new complaints in English, replies,
attachments with Chinese RFC 2231 / RFC 2047 filenames, HTML-only mail and out-of-office
answers (``Auto-Submitted: auto-replied``).

Replies come from the sender of an earlier message and answer that message:
``reply_header`` carries ``In-Reply-To``/``References``; ``reply_subject_tag`` has no
threading header, only the earlier subject behind ``Re: `` / ``回复：`` - and, when
``with_subject_tags=True``, a ``[FB-2026-NNNNNN]`` tag where NNNNNN is the ordinal of the
thread's first message among the case-opening messages (``OPENING_KINDS``) of the corpus. That
matches the references of a fresh database that ingests the corpus in order and numbers cases
from 1; the generator cannot know real references.
"""

from __future__ import annotations

import base64
import binascii
import html
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from itertools import accumulate
from pathlib import Path
from urllib.parse import quote

from bench import corpus_text as text
from bench.corpus_text import Facts, Person

KIND_SHARES: tuple[tuple[str, int], ...] = (
    ("new_zh", 37),
    ("gb2312_gbk_chars", 4),
    ("gbk_header", 4),
    ("new_en", 20),
    ("reply_header", 10),
    ("reply_subject_tag", 10),
    ("attachment", 10),
    ("html_only", 3),
    ("out_of_office", 2),
)
OPENING_KINDS = frozenset({"new_zh", "gb2312_gbk_chars", "gbk_header", "new_en", "attachment", "html_only"})
SENDERS = 300
DOMAINS = 60
_START = datetime(2026, 11, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))
CTES = ("base64", "quoted-printable", "8bit")
Header = tuple[str, str | bytes]  # bytes: a raw 8-bit value
_CODECS = {"utf-8": "utf-8", "gbk": "gbk", "gb18030": "gb18030", "gb2312": "gb2312", "us-ascii": "ascii"}


@dataclass(frozen=True, slots=True)
class CorpusMessage:
    sender: str  # envelope/From address
    recipients: tuple[str, ...]  # envelope recipients, e.g. ("service@kefu.example",)
    data: bytes  # full RFC 5322 message, CRLF line endings
    kind: str  # one of KIND_SHARES


@dataclass(frozen=True, slots=True)
class _Sent:
    """An earlier message that a later reply can answer."""

    who: Person
    message_id: str
    references: str  # References of that message, "" for a thread's first message
    subject: str  # without Re:/回复： and tag
    body: str
    date: datetime
    ordinal: int  # case ordinal of the thread's first message


def encoded_words(value: str, charset: str = "UTF-8") -> str:
    """RFC 2047 B-encoded words of at most 75 characters, folded; ASCII stays as it is."""
    if value.isascii():
        return value
    codec, words, chunk = _CODECS[charset.lower()], [], ""
    for ch in value:
        if chunk and len((chunk + ch).encode(codec)) > 39:  # 39 bytes: a 64-character word
            words.append(chunk)
            chunk = ""
        chunk += ch
    words.append(chunk)
    return "\n ".join(f"=?{charset}?B?{base64.b64encode(w.encode(codec)).decode()}?=" for w in words)


def _rfc2231(name: str, key: str, charset: str) -> str:
    """``key*=charset''%xx`` with continuations (RFC 2231 section 3) for long values."""
    pieces, chunk = [], ""
    for ch in name:
        enc = quote(ch.encode(_CODECS[charset.lower()]), safe="")
        if chunk and len(chunk) + len(enc) > 60:
            pieces.append(chunk)
            chunk = ""
        chunk += enc
    pieces.append(chunk)
    if len(pieces) == 1:
        return f"{key}*={charset}''{pieces[0]}"
    return ";\n ".join(f"{key}*{i}*={charset}''{p}" if i == 0 else f"{key}*{i}*={p}" for i, p in enumerate(pieces))


def text_part(body: str, subtype: str, charset: str, cte: str, codec: str | None = None) -> bytes:
    """A text/* part; ``codec`` differs from ``charset`` only for mislabelled parts."""
    raw = body.encode(codec or _CODECS[charset.lower()])
    if cte == "base64":
        payload = base64.encodebytes(raw)
    elif cte == "quoted-printable":
        payload = binascii.b2a_qp(raw, istext=True)
    else:
        payload = raw
    head = f'Content-Type: text/{subtype}; charset="{charset}"\nContent-Transfer-Encoding: {cte}\n\n'
    return head.encode() + payload


def multipart(subtype: str, parts: list[bytes], boundary: str) -> bytes:
    """A multipart/* entity with its own Content-Type header."""
    out = [
        f'Content-Type: multipart/{subtype};\n boundary="{boundary}"\n\n'
        "This is a multi-part message in MIME format.\n".encode()
    ]
    for part in parts:
        out.append(f"\n--{boundary}\n".encode() + part.rstrip(b"\n") + b"\n")
    out.append(f"\n--{boundary}--\n".encode())
    return b"".join(out)


class _Generator:
    """Holds the state of one run: contacts, clock, earlier messages."""

    def __init__(self, seed: int, domain: str, with_subject_tags: bool) -> None:
        self.rng = random.Random(seed)
        self.service = f"service@{domain}"
        self.tags = with_subject_tags
        self.people = text.make_people(self.rng, SENDERS, DOMAINS)
        weights = {p.address: self.rng.choice((1, 1, 1, 2, 2, 4)) for p in self.people}
        self.pools = {
            lang: (
                [p for p in self.people if p.lang == lang],
                list(accumulate(weights[p.address] for p in self.people if p.lang == lang)),
            )
            for lang in ("zh", "en")
        }
        self.mailer = {p.address: self.rng.choice(("foxmail", "outlook", "plain")) for p in self.people}
        self.clock = _START
        self.sent: list[_Sent] = []
        self.openings = 0
        self.index = 0
        self.builders: dict[str, Callable[[str], tuple[Person, list[Header], bytes]]] = {
            **{kind: self._opening for kind in OPENING_KINDS},
            "reply_header": self._reply,
            "reply_subject_tag": self._reply,
            "out_of_office": self._out_of_office,
        }

    def message(self) -> CorpusMessage:
        kinds, shares = zip(*KIND_SHARES, strict=True)
        kind = self.rng.choices(kinds, weights=shares)[0]
        if kind in ("reply_header", "reply_subject_tag", "out_of_office") and not self.sent:
            kind = "new_zh"
        self.index += 1
        self.clock += timedelta(seconds=self.rng.randint(30, 900))
        who, headers, body = self.builders[kind](kind)
        # Written with \n, CRLF once here: GBK/UTF-8 have no 0x0A inside a character, and
        # binary data is base64.
        data = self._assemble(who, headers, body).replace(b"\n", b"\r\n")
        return CorpusMessage(who.address, (self.service,), data, kind)

    # -- who writes, and the common header block ---------------------------------------------

    def _person(self, lang: str) -> Person:
        pool, cum_weights = self.pools[lang]
        return self.rng.choices(pool, cum_weights=cum_weights)[0]

    def _earlier(self) -> _Sent:
        recent = self.sent[-200:]
        return self.rng.choice(recent if self.rng.random() < 0.7 else self.sent)

    def _message_id(self, who: Person) -> str:
        domain = who.address.split("@")[1]
        rnd = self.rng.getrandbits(64)
        if domain == "qq.com":
            return f"<tencent_{rnd:016X}{self.index:06d}@qq.com>"
        if self.mailer[who.address] == "outlook":
            return f"<{rnd:016X}{self.index:06d}@{domain.split('.')[0].upper()}.prod.outlook.com>"
        return f"<{self.clock:%Y%m%d%H%M%S}{self.index:06d}{rnd % 100000:05d}@{domain}>"

    def _date(self, who: Person) -> str:
        return format_datetime(self.clock.astimezone(timezone(timedelta(hours=who.utc_offset))))

    def _assemble(self, who: Person, headers: list[Header], body: bytes) -> bytes:
        domain = who.address.split("@")[1]
        top: list[Header] = [
            (
                "Received",
                f"from [192.168.{self.index % 250}.{self.index % 199 + 2}]\n\tby smtp."
                f"{domain} with ESMTPSA id {self.rng.getrandbits(40):010x}\n\tfor "
                f"<{self.service}>; {self._date(who)}",
            ),
            ("Date", self._date(who)),
        ]
        if self.mailer[who.address] == "foxmail" and who.lang == "zh":
            headers.append(("X-Mailer", "Foxmail 7.2.25.228[cn]"))
        elif self.mailer[who.address] == "outlook":
            headers.append(("X-Mailer", "Microsoft Outlook 16.0"))
        headers.append(("MIME-Version", "1.0"))
        lines = [
            n.encode() + b": " + (v if isinstance(v, bytes) else v.encode("ascii")) + b"\n" for n, v in top + headers
        ]
        return b"".join(lines) + body

    def _headers(
        self,
        who: Person,
        subject: str,
        charset: str = "UTF-8",
        raw: bool = False,
    ) -> tuple[str, list[Header]]:
        """From, To, Subject, Message-ID; ``raw`` writes 8-bit GBK as some old clients do."""
        message_id = self._message_id(who)
        if raw:
            return message_id, [
                ("From", who.name.encode("gbk") + f" <{who.address}>".encode()),
                ("To", self.service),
                ("Subject", subject.encode("gbk")),
                ("Message-ID", message_id),
            ]
        return message_id, [
            ("From", f"{encoded_words(who.name, charset)} <{who.address}>"),
            ("To", f"{encoded_words('客服中心', charset)} <{self.service}>"),
            ("Subject", encoded_words(subject, charset)),
            ("Message-ID", message_id),
        ]

    # -- the builders: kind -> (who, headers, body entity) ---------------------------------

    def _opening(self, kind: str) -> tuple[Person, list[Header], bytes]:
        """A new complaint: the first message of a thread (one case each)."""
        rng = self.rng
        lang = {"new_en": "en", "new_zh": "zh", "gb2312_gbk_chars": "zh", "gbk_header": "zh"}.get(
            kind, "zh" if rng.random() < 0.7 else "en"
        )
        who, facts = self._person(lang), text.make_facts(rng, lang)
        subject, body = text.complaint(rng, who, facts)
        charset, cte = "UTF-8", rng.choices(CTES, (40, 30, 30))[0]
        if kind == "new_zh":
            charset = rng.choices(("UTF-8", "GBK", "GB18030", "gb2312"), (55, 15, 10, 20))[0]
            entity = text_part(body, "plain", charset, cte)
        elif kind == "gb2312_gbk_chars":  # GBK bytes labelled gb2312, as Foxmail sends them
            body = body.replace("\n\n谢谢", "\n" + text.gbk_only_line(rng, facts) + "\n谢谢", 1)
            entity = text_part(body, "plain", "gb2312", cte, codec="gbk")
        elif kind == "gbk_header":
            entity = text_part(body, "plain", "GBK", rng.choice(("8bit", "base64")))
        elif kind == "new_en":
            entity = text_part(body, "plain", "us-ascii", "7bit")
        elif kind == "html_only":
            entity = self._html(body, rng.choice(("UTF-8", "GBK")))
        else:  # attachment
            parts = [text_part(body, "plain", "UTF-8", "base64")]
            if rng.random() < 0.5:
                parts = [multipart("alternative", [*parts, self._html(body, "UTF-8")], self._boundary())]
            parts += [self._file(who, facts, n) for n in range(rng.randint(1, 3))]
            entity = multipart("mixed", parts, self._boundary())
        message_id, headers = self._headers(who, subject, charset, raw=kind == "gbk_header")
        self.openings += 1
        self.sent.append(_Sent(who, message_id, "", subject, body, self.clock, self.openings))
        return who, headers, entity

    def _reply(self, kind: str) -> tuple[Person, list[Header], bytes]:
        """The sender answers one of their earlier messages, quoting it."""
        earlier = self._earlier()
        who = earlier.who
        when = earlier.date.strftime("%Y-%m-%d %H:%M")
        old_body = "\n".join(earlier.body.splitlines()[:40])
        new = text.follow_up(self.rng, who)
        body = new + text.quotation(self.rng, who, when, earlier.subject, old_body)
        prefix = "Re: " if who.lang == "en" else self.rng.choice(("回复：", "回复: ", "答复: ", "Re: "))
        tagged = self.tags and kind == "reply_subject_tag"
        tag = f"[FB-2026-{earlier.ordinal:06d}] " if tagged else ""
        message_id, headers = self._headers(who, prefix + tag + earlier.subject)
        references = f"{earlier.references}\n {earlier.message_id}".strip()
        if kind == "reply_header":
            headers += [("In-Reply-To", earlier.message_id), ("References", references)]
        self.sent.append(_Sent(who, message_id, references, earlier.subject, body, self.clock, earlier.ordinal))
        if body.isascii():
            return who, headers, text_part(body, "plain", "us-ascii", "7bit")
        charset = self.rng.choice(("UTF-8", "GBK"))
        return who, headers, text_part(body, "plain", charset, self.rng.choice(CTES))

    def _out_of_office(self, kind: str) -> tuple[Person, list[Header], bytes]:
        """RFC 3834 auto-reply of a customer, e.g. to our acknowledgement."""
        earlier = self._earlier()
        who = earlier.who
        prefix = "Automatic reply: " if who.lang == "en" else "自动回复："
        tag = f"[FB-2026-{earlier.ordinal:06d}] " if self.tags else ""
        _, headers = self._headers(who, prefix + tag + earlier.subject)
        # It answers our acknowledgement, whose References named the customer's mail; kefu opens
        # no case for an auto-reply that threads to none (docs/intake-rules.md).
        references = f"{earlier.references}\n {earlier.message_id}".strip()
        headers += [("References", references), ("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
        body = text.out_of_office(self.rng, who)
        return who, headers, text_part(body, "plain", "UTF-8", "base64")

    # -- pieces ----------------------------------------------------------------------------

    def _boundary(self) -> str:
        return f"----=_NextPart_{self.index:06d}_{self.rng.getrandbits(48):012X}"

    def _html(self, body: str, charset: str) -> bytes:
        rows = "".join(f"<div>{html.escape(line) or '<br>'}</div>\n" for line in body.splitlines())
        page = (
            f'<html><head><meta http-equiv="Content-Type" content="text/html; '
            f'charset={charset}"><style>body {{ font-size: 14px; }}</style></head>\n'
            f"<body>\n{rows}<div>&nbsp;</div>\n</body></html>\n"
        )
        return text_part(page, "html", charset, self.rng.choice(("quoted-printable", "base64")))

    def _file(self, who: Person, facts: Facts, n: int) -> bytes:
        """An attachment; non-ASCII names mostly as RFC 2231, some the Outlook/Foxmail way."""
        ctype, name, data = text.attachment(self.rng, who, facts, n, self.clock)
        style = self.rng.choices(("rfc2231", "rfc2047", "rfc2231_gbk"), (60, 30, 10))[0]
        if name.isascii():
            ctype_line, disposition = f'{ctype};\n name="{name}"', f'filename="{name}"'
        elif style == "rfc2047":  # RFC 2047 forbids encoded words in parameters; clients do it
            word = encoded_words(name).replace("\n ", " ")
            ctype_line, disposition = f'{ctype};\n name="{word}"', f'filename="{word}"'
        else:
            charset = "GBK" if style == "rfc2231_gbk" else "UTF-8"
            ctype_line, disposition = ctype, _rfc2231(name, "filename", charset)
        head = (
            f"Content-Type: {ctype_line}\nContent-Transfer-Encoding: base64\n"
            f"Content-Disposition: attachment;\n {disposition}\n\n"
        )
        return head.encode() + base64.encodebytes(data)


def generate_corpus(
    n: int = 2000, seed: int = 7, domain: str = "kefu.example", *, with_subject_tags: bool = False
) -> list[CorpusMessage]:
    """``n`` messages in arrival order; the same arguments always give the same bytes."""
    generator = _Generator(seed, domain, with_subject_tags)
    return [generator.message() for _ in range(n)]


def write_corpus(messages: Sequence[CorpusMessage], folder: Path) -> None:
    """One ``NNNN.eml`` per message and ``index.tsv`` (file, kind, sender) with a header row."""
    folder.mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(len(messages))))
    rows = ["file\tkind\tsender\n"]
    for number, message in enumerate(messages, start=1):
        name = f"{number:0{width}d}.eml"
        (folder / name).write_bytes(message.data)
        rows.append(f"{name}\t{message.kind}\t{message.sender}\n")
    (folder / "index.tsv").write_text("".join(rows), encoding="utf-8")
