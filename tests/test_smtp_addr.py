"""ChunkedDataSMTP._getaddr (fast path in intake/smtp_addr.py) answers exactly as aiosmtpd's.

Both classes parse the same arguments with the same settings; the answers (or the exceptions
aiosmtpd's parser raises on some broken input) must be equal. A second check makes sure the
fast path is really taken for the simple forms, and never for the odd ones, so the equality is
not only the fallback agreeing with itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from intake.smtp_addr import simple_path
from intake.smtp_data import ChunkedDataSMTP

LONG = "a" * 65

SIMPLE = [
    "<a@example.cn>",
    "<service@kefu.example>",
    "<Zhang.Wei@Example.COM>",
    "<ZHANG@EXAMPLE.CN>",
    "<user+tag@example.cn>",
    "<user+tag+more@mail.example.cn>",
    "<first.last@sub.domain.example>",
    "<a.b.c.d@x.y.z>",
    "<1234567@163.com>",
    "<0@0>",
    "<x-y_z@my-host.example>",
    "<o'brien@example.ie>",
    "<!#$%&'*+/=?^_`{|}~-@example.com>",
    "<a=b@example.com>",
    "<a?=b@example.com>",
    "<a@localhost>",
    "<a@-leading-hyphen.example>",
    "<a@example.cn> SIZE=10240",
    "<a@example.cn> SIZE=10240 BODY=8BITMIME",
    "<a@example.cn> BODY=8BITMIME SMTPUTF8",
    "<a@example.cn> SMTPUTF8",
    "<a@example.cn>  SIZE=1",
    "<a@example.cn>\tSIZE=1",
    "<a@example.cn> \t SIZE=1 ",
    "<a@example.cn>SIZE=1",
    "<a@example.cn>x",
    "<a@example.cn>>",
    "<a@example.cn><b@example.cn>",
    "<a@example.cn>,<b@example.cn>",
    "<a@example.cn> trailing garbage here",
    "<a@example.cn> \u3000SIZE=1",
    "<a@example.cn>\n",
    "<a@example.cn> ",
    "<" + "a" * 64 + "@example.cn>",
    "<" + LONG + "@example.cn>",
    "<" + "a" * 300 + "@example.cn> SIZE=1",
]

ODD = [
    "",
    " ",
    "<",
    ">",
    "<>",
    "<> SIZE=1",
    " <a@example.cn>",
    "\t<a@example.cn>",
    "  <a@example.cn> SIZE=1",
    "\n<a@example.cn>",
    "a@example.cn",
    "a@example.cn SIZE=1",
    "Zhang Wei <a@example.cn>",
    "<a@example.cn",
    "<a@example.cn SIZE=1",
    "<a@>",
    "<@example.cn>",
    "<a>",
    "<a@b@c>",
    "< a@example.cn>",
    "<a @example.cn>",
    "<a@ example.cn>",
    "<a@example.cn >",
    "<a\t@example.cn>",
    '<"a b"@example.cn>',
    '<"a"@example.cn>',
    '<"a\\"b"@example.cn>',
    '<"".a@example.cn>',
    "<a\\b@example.cn>",
    "<(comment)a@example.cn>",
    "<a(comment)@example.cn>",
    "<a@(comment)example.cn>",
    "<a@example.cn(comment)>",
    "<a@example.cn> (comment)",
    "<a@example.cn>(comment) SIZE=1",
    "<a@example.cn> (unclosed",
    "<a@example.cn> \x0b(x)",
    "<a@[127.0.0.1]>",
    "<a@[IPv6:::1]>",
    "<a@[127.0.0.1> SIZE=1",
    "<@a,@b:x@y>",
    "<@a:x@y>",
    "<@a,@b:x@y> SIZE=1",
    "<.a@example.cn>",
    "<a.@example.cn>",
    "<a..b@example.cn>",
    "<a@.example.cn>",
    "<a@example.cn.>",
    "<a@example..cn>",
    "<a@exa_mple.cn>",
    "<a@exa+mple.cn>",
    "<用户@例子.中国>",
    "<用户@example.cn>",
    "<a@例子.中国>",
    "<müller@example.de> SMTPUTF8",
    "<a@bücher.example>",
    "<a@example.cn\u00a0>",
    "<=?utf-8?q?a?=@example.cn>",
    "<=?utf-8?b?YQ==?=@example.cn>",
    "<=?x@example.cn>",
    "<a:b@example.cn>",
    "<a;b@example.cn>",
    "<a,b@example.cn>",
    "<a[b]@example.cn>",
    "<a\x00b@example.cn>",
    "<a\r\n@example.cn>",
]


@pytest.fixture
def parsers() -> Iterator[tuple[SMTP, ChunkedDataSMTP]]:
    """aiosmtpd's SMTP and kefu's ChunkedDataSMTP with kefu's intake settings."""
    loop = asyncio.new_event_loop()
    try:
        options: dict[str, Any] = dict(hostname="test.example", enable_SMTPUTF8=True, decode_data=False, loop=loop)
        yield SMTP(None, **options), ChunkedDataSMTP(None, **options)
    finally:
        loop.close()


def outcome(parser: SMTP, arg: str) -> tuple[object, ...]:
    """What `_getaddr` answers, or which exception it raises (aiosmtpd's parser raises
    IndexError on a lone ``<``; the fallback must do the same)."""
    try:
        return ("answer", parser._getaddr(arg))
    except Exception as e:
        return ("raises", type(e))


TAILS = ["", " ", " SIZE=1", "(c)", " \t(c) x", "\u3000x"]


def random_arguments(count: int) -> list[str]:
    """Arguments near the simple form: mostly ``<...>`` over an alphabet of the characters
    that make the tokenizer take other branches."""
    rng = random.Random(20240611)
    alphabet = 'aZ09.-+_=?@<> \t()"[]\\:,;é用\u3000'
    args = []
    for _ in range(count):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        if rng.random() < 0.7:
            body = "<" + body
        args.append(body)
        local = "".join(rng.choice("ab.+=?") for _ in range(rng.randint(1, 6)))
        args.append(f"<{local}@ex.cn>" + rng.choice(TAILS))
    return args


@pytest.mark.parametrize("limit", [0, 64])
@pytest.mark.parametrize("arg", SIMPLE + ODD)
def test_getaddr_answers_as_aiosmtpd(parsers: tuple[SMTP, ChunkedDataSMTP], arg: str, limit: int) -> None:
    theirs, ours = parsers
    theirs.local_part_limit = ours.local_part_limit = limit
    assert outcome(ours, arg) == outcome(theirs, arg)


@pytest.mark.parametrize("limit", [0, 8, 64])
def test_getaddr_answers_as_aiosmtpd_on_random_arguments(parsers: tuple[SMTP, ChunkedDataSMTP], limit: int) -> None:
    theirs, ours = parsers
    theirs.local_part_limit = ours.local_part_limit = limit
    args = random_arguments(3000)
    differ = [a for a in args if outcome(ours, a) != outcome(theirs, a)]
    assert differ == []
    # The random mix exercises both paths, not just the fallback.
    fast = sum(simple_path(a, limit) is not None for a in args)
    assert 0 < fast < len(args)


@pytest.mark.parametrize("arg", SIMPLE)
def test_simple_forms_take_the_fast_path(arg: str) -> None:
    assert simple_path(arg, 0) is not None


@pytest.mark.parametrize("arg", ODD)
def test_odd_forms_fall_back_to_aiosmtpd(arg: str) -> None:
    assert simple_path(arg, 0) is None


def test_local_part_beyond_the_limit_falls_back_and_is_refused(parsers: tuple[SMTP, ChunkedDataSMTP]) -> None:
    _, ours = parsers
    ours.local_part_limit = 64
    assert simple_path(f"<{LONG}@example.cn>", 64) is None
    assert ours._getaddr(f"<{LONG}@example.cn> SIZE=1") == (None, None)
    assert ours._getaddr(f"<{'a' * 64}@example.cn> SIZE=1") == ("a" * 64 + "@example.cn", "SIZE=1")


def test_rest_after_the_path_loses_its_leading_blanks_only() -> None:
    assert simple_path("<Zhang.Wei+rma@Example.CN> \t SIZE=10240 BODY=8BITMIME ", 0) == (
        "Zhang.Wei+rma@Example.CN",
        "SIZE=10240 BODY=8BITMIME ",
    )
    assert simple_path("<a@example.cn>SIZE=1", 0) == ("a@example.cn", "SIZE=1")
