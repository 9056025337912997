"""The common ``<local@domain>`` path of MAIL FROM / RCPT TO without the RFC 5322 tokenizer.

aiosmtpd 1.4.6 parses every path argument with ``email._header_value_parser``'s
``get_angle_addr``: a general RFC 5322 tokenizer that builds a token tree, and ``SMTP._getaddr``
even defines a ``typing.Protocol`` class on each call. A py-spy profile of ``bench.smtp_cpu``
put ~14% of the SMTP server's CPU there, and the whole server runs on one event loop.

Almost every real path is the simple form: ``<`` dot-atom local part ``@`` hostname ``>``, then
nothing or `` PARAM=...``. For that form `simple_path` gives exactly what aiosmtpd's
``_getaddr`` gives: the address as written and the rest after ``>`` with leading blanks removed
(``get_angle_addr`` consumes the ``[CFWS]`` after ``>`` and returns ``value.lstrip()``).
Everything else returns ``None``, and the caller falls back to aiosmtpd's own parser:

- anything before ``<``, no ``<`` at all, ``<>`` (null reverse-path), a missing ``>``;
- quoted local parts, comments, whitespace or ``\\`` anywhere inside the brackets;
- address literals ``[127.0.0.1]``, source routes ``<@a,@b:x@y>``, leading, trailing or
  double dots, non-ASCII (SMTPUTF8, RFC 6531) local parts or domains;
- a local part starting ``=?``, which the tokenizer tries as an RFC 2047 encoded word;
- a comment after ``>``, and a local part longer than ``local_part_limit`` (aiosmtpd's
  check then answers ``(None, None)``).

tests/test_smtp_addr.py compares both parsers on a broad list of arguments and on random ones.
"""

from __future__ import annotations

import re

# RFC 5322 3.2.3 atext, ASCII only: no specials, no blanks, nothing the tokenizer would quote.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# A hostname label (RFC 1035 letters, digits, hyphens): a subset of atext.
_LABEL = r"[A-Za-z0-9-]+"
_SIMPLE = re.compile(rf"<(({_ATEXT}(?:\.{_ATEXT})*)@{_LABEL}(?:\.{_LABEL})*)>")


def simple_path(arg: str, local_part_limit: int) -> tuple[str, str] | None:
    """``(address, rest)`` as aiosmtpd's ``SMTP._getaddr`` returns them for a simple
    ``<local@domain>`` argument, or ``None`` when the argument needs the full parser."""
    m = _SIMPLE.match(arg)
    if m is None:
        return None
    local = m.group(2)
    if local.startswith("=?") or (local_part_limit and len(local) > local_part_limit):
        return None
    rest = arg[m.end() :]
    if rest and rest[0] in " \t(":
        rest = rest.lstrip()  # as get_fws does: str.lstrip(), any Unicode whitespace
        if rest.startswith("("):
            return None  # a comment: the tokenizer's business
    return m.group(1), rest
