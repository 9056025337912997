"""Robust decoding helpers: charsets, 8-bit headers, RFC 2047 words, RFC 2231 parameters.

Chinese mail is the reason this module exists. Mail clients declare ``gb2312`` and then write
GBK-only characters (``镕``, ``–``); Python's ``gb2312`` codec rejects them and the email
package then silently substitutes U+FFFD. Older clients put raw 8-bit GBK bytes into headers,
which RFC 5322 forbids but which we must read anyway. Every function here is total: it never
raises on bad input, it degrades and says so in a defect note.
"""

from __future__ import annotations

import binascii
import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from charset_normalizer import from_bytes

# The GB family: GB18030 is a strict superset of GB2312 and GBK (and maps 0xA1AA to U+2014,
# which is what Windows means), so decoding the whole family as gb18030 loses nothing.
_GB_FAMILY = frozenset(
    {
        "gb2312",
        "gbk",
        "cp936",
        "ms936",
        "windows-936",
        "euc-cn",
        "euccn",
        "x-euc-cn",
        "x-gbk",
        "chinese",
        "csgb2312",
        "gb_2312-80",
        "gb2312-80",
        "x-gb2312",
        "iso-ir-58",
        "gb18030",
        "gb-18030",
    }
)
# Labels under which mislabelled UTF-8 decodes "successfully" into mojibake: single-byte
# charsets never fail, and UTF-8 Chinese mostly forms valid gb18030 byte pairs. UTF-8 is
# checked first for these; real GBK text longer than a few characters is almost never valid UTF-8.
_UTF8_FIRST = frozenset({"iso8859-1", "cp1252", "ascii", "gb18030"})
_ALIASES = {
    "utf8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "big5": "big5hkscs",  # a superset, like gb18030 for the GB family
    "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "us-ascii": "ascii",
    "iso-8859-1": "latin-1",
    "windows-1252": "cp1252",
}
_UNKNOWN_8BIT = frozenset({"unknown-8bit", "x-unknown", "unknown", "x-user-defined", "8bit"})

_LABEL = re.compile(r"[a-z0-9][a-z0-9_.:-]{0,39}")  # RFC 2978 names; keeps odd bytes out of codecs
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_WHITESPACE_ONLY = re.compile(r"\s*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]+")
_B64_PAD = re.compile(rb"=+")
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_QUOTED_PAIR = re.compile(r"\\(.)")


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    defect: str | None = None  # a human-readable note when the declared charset was not used


@lru_cache(maxsize=256)
def normalize_charset(name: str | None) -> str | None:
    """Return a Python codec name for a MIME charset label, or None if unknown or absent."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    if label in _GB_FAMILY:
        return "gb18030"
    label = _ALIASES.get(label, label)
    if label in _UNKNOWN_8BIT or not _LABEL.fullmatch(label):
        return None
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    try:
        b"a".decode(codec)  # rejects bytes-to-bytes codecs such as "base64" and "zlib"
    except LookupError:
        return None
    except ValueError:  # a text codec for which one byte is just not enough (utf-16)
        pass
    return codec


def decode_bytes(data: bytes, declared: str | None = None) -> Decoded:
    """Decode body or header bytes: declared charset, then UTF-8, gb18030, detection, replace."""
    if declared is None or not declared.strip():
        if data.isascii():
            return Decoded(data.decode("ascii"))
        return _guess(data, None)
    codec = normalize_charset(declared)
    if codec is None:
        if data.isascii():
            return Decoded(data.decode("ascii"))
        return _guess(data, declared)
    if codec in _UTF8_FIRST and not data.isascii():
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return Decoded(text, f"declared charset {declared} was wrong, detected utf-8")
    if codec in _WESTERN and not data.isascii():
        return _western(data, declared)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return _guess(data, declared)
    label = declared.strip().strip("\"'").lower()
    if codec == "gb18030" and label not in ("gb18030", "gb-18030") and not data.isascii():
        return Decoded(text, _gb_note(data, label))
    return Decoded(text)


# The WHATWG Encoding Standard (section 4.2, "Names and labels"): iso-8859-1, latin1, us-ascii
# and ascii are all labels of windows-1252, because that is what the mail and pages so labelled
# hold: 0x80-0x9F are the C1 controls in ISO 8859-1 but €, „, “, ” and – in windows-1252.
_WESTERN = frozenset({"iso8859-1", "ascii", "cp1252"})
_GB2312_PAIR = re.compile(rb"[\xb0-\xf7][\xa1-\xfe]")  # a hanzi of GB2312 levels 1 and 2
_HIGH = re.compile(rb"[\x80-\xff]")
_C1 = re.compile(rb"[\x80-\x9f]")


def _c1_as_is(error: UnicodeError) -> tuple[str, int]:
    """WHATWG windows-1252 maps the five bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90,
    0x9D) to the C1 code points of the same value; Python's codec raises on them."""
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("kefu-whatwg-c1", _c1_as_is)


def _western(data: bytes, declared: str) -> Decoded:
    """Latin-1, US-ASCII or windows-1252 label, 8-bit bytes, not UTF-8: windows-1252 (WHATWG);
    but mislabelled Chinese stays Chinese (nearly all its 8-bit bytes are GB2312 hanzi pairs,
    which Western text, an accented letter between ASCII ones, almost never forms)."""
    in_pairs = 2 * len(_GB2312_PAIR.findall(data))
    if in_pairs >= 4 and in_pairs >= 0.8 * len(_HIGH.findall(data)):
        try:
            return Decoded(data.decode("gb18030"), f"declared charset {declared} was wrong, detected gb18030")
        except UnicodeDecodeError:
            pass
    text = data.decode("cp1252", "kefu-whatwg-c1")
    label = declared.strip().strip("\"'").lower()
    # Worth a note only where the label's own codec would have read it otherwise.
    quiet = label in ("windows-1252", "cp1252") or (label not in ("us-ascii", "ascii") and not _C1.search(data))
    return Decoded(text, None if quiet else f"charset {label} decoded as windows-1252")


def _gb_note(data: bytes, label: str) -> str | None:
    # Only worth a note when Python's own codec for the label would have failed (GBK-only
    # characters under a gb2312 label); routine gb2312 mail is not a defect.
    try:
        data.decode(label)
    except (UnicodeDecodeError, LookupError):
        return f"charset {label} decoded as gb18030"
    return None


def _guess(data: bytes, declared: str | None) -> Decoded:
    what = f"declared charset {declared} was wrong" if declared else "no charset declared"
    for codec in ("utf-8", "gb18030"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        return Decoded(text, f"{what}, detected {codec}")
    best = from_bytes(data).best()
    if best is not None:
        return Decoded(str(best), f"{what}, detected {best.encoding}")
    codec = normalize_charset(declared) or "utf-8"
    return Decoded(data.decode(codec, "replace"), f"{what}, decoded {codec} with replacement")


def recover_8bit(value: str) -> str:
    """Undo the surrogateescape the byte parser applied to raw 8-bit header bytes.

    RFC 5322 headers are ASCII, but GBK and UTF-8 bytes arrive anyway (RFC 6532 allows UTF-8).
    """
    if value.isascii():
        return value
    raw = value.encode("utf-8", "surrogateescape")
    return decode_bytes(raw, None).text


def unfold(value: str) -> str:
    """RFC 5322 section 2.2.3: unfolding removes the CRLF before folding whitespace."""
    return _FOLD.sub("", value).strip() if "\n" in value else value.strip()


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, tolerating what real clients send.

    We do this ourselves rather than with email.header.decode_header: that raises on bad
    base64, cannot map gb2312 to gb18030, and round-trips plain text through
    raw-unicode-escape (which mangles literal backslashes next to recovered CJK text).
    Adjacent words in the same charset are joined before decoding because some clients split
    a multi-byte character across two words (RFC 2047 section 5 forbids it; QQ Mail does it).
    """
    if "=?" not in value:
        return value
    out: list[str] = []
    pending = bytearray()
    pending_charset: str | None = None
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        # RFC 2047 section 6.2: whitespace between adjacent encoded words is not displayed.
        if gap and not (pending_charset is not None and _WHITESPACE_ONLY.fullmatch(gap)):
            if pending_charset is not None:
                out.append(decode_bytes(bytes(pending), pending_charset).text)
                pending.clear()
                pending_charset = None
            out.append(gap)
        charset = match.group(1).split("*", 1)[0]  # RFC 2231 section 5 language suffix
        payload = _word_bytes(match.group(2), match.group(3))
        if pending_charset is not None and charset.lower() != pending_charset.lower():
            out.append(decode_bytes(bytes(pending), pending_charset).text)
            pending.clear()
        pending += payload
        pending_charset = charset
        pos = match.end()
    if pending_charset is not None:
        out.append(decode_bytes(bytes(pending), pending_charset).text)
    out.append(value[pos:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes:
    raw = text.encode("ascii", "ignore")
    if encoding in "qQ":
        return binascii.a2b_qp(raw, header=True)  # header=True: "_" is a space (2047 4.2)
    return decode_base64(raw)[0]


def decode_header_value(value: str) -> str:
    """Unfold, recover 8-bit bytes and decode encoded words: the display form of a header."""
    return decode_words(recover_8bit(unfold(value)))


def decode_base64(data: bytes) -> tuple[bytes, bool]:
    """Decode base64 leniently; the flag says the input was damaged. Never raises.

    binascii stops at the first padding and rejects bad lengths, so damaged input is cleaned,
    split at padding (concatenated encoder output) and each piece re-padded.
    """
    body = data.rstrip(b"\r\n\t =")
    if b"=" not in body:
        try:
            return binascii.a2b_base64(data), False
        except binascii.Error:
            pass
    out = bytearray()
    for chunk in _B64_PAD.split(_B64_JUNK.sub(b"", data)):
        chunk = chunk[: len(chunk) - 1] if len(chunk) % 4 == 1 else chunk
        if chunk:
            out += binascii.a2b_base64(chunk + b"=" * (-len(chunk) % 4))
    return bytes(out), True


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type/sub; a=b; c*=utf-8''%E8`` into the lower-cased value and decoded params.

    Handles quoted strings, RFC 2231 continuations and charsets, and RFC 2047 words inside
    quoted parameter values (forbidden by RFC 2047 section 5, sent by Outlook and Foxmail).
    """
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    if not rest:
        return head.strip().lower(), params
    pieces: dict[str, dict[int, tuple[str, bool]]] = {}
    for match in _PARAM.finditer(";" + rest):
        key = match.group(1).lower()
        raw = match.group(2).strip()
        if raw.startswith('"'):
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:])
        if "*" not in key:
            params.setdefault(key, decode_words(raw))
            continue
        name, _, section = key.partition("*")
        encoded = section.endswith("*") or section == ""
        number = section.rstrip("*")
        index = int(number) if number.isdigit() else 0
        pieces.setdefault(name, {}).setdefault(index, (raw, encoded))
    for name, sections in pieces.items():
        params[name] = _join_rfc2231([sections[i] for i in sorted(sections)])  # 2231 wins
    return head.strip().lower(), params


def _join_rfc2231(sections: list[tuple[str, bool]]) -> str:
    charset: str | None = None
    data = bytearray()
    for number, (raw, encoded) in enumerate(sections):
        if encoded:
            if number == 0 and raw.count("'") >= 2:
                charset, _, raw = raw.split("'", 2)  # charset'language'value (2231 section 4)
            data += unquote_to_bytes(raw)
        else:
            data += raw.encode("utf-8", "surrogateescape")
    return decode_bytes(bytes(data), charset or None).text
