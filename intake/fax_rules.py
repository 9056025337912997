"""Fax-to-email gateways: a table of rules that recognise a gateway's mail and read the fax's
caller number, page count and station id from its subject and body.

A hit turns the mail into an IntakeMessage of channel **fax** whose sender is the caller's
normalised number (so the case lands with the contact who owns that fax number), never the
gateway: the gateway is a machine and is never answered (replies go to the customer's
preferred channel, notifications/reply_channel.py). The fax document (PDF, TIFF) stays an
attachment; its text is read later, after the case is stored (intake/doctext.py).

A sender pattern that names only the local part (``fax@*``: anyone can own such an address)
is weak evidence: such a mail is a fax only when the rule also read a caller number in the
gateway's own format *and* a fax document (PDF, TIFF) is attached; otherwise it is an email
(a stranger writing from ``fax@anything``). A gateway's own domain (``*@efax.com``) and the
site's configured gateway addresses (KEFU_FAX_GATEWAYS) are enough by themselves.

Rules are tried in order; the first whose sender pattern matches decides. Within it the
caller patterns are tried before the station id (a station id is what the sending machine
calls itself, often its number, sometimes a name).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from fnmatch import translate
from functools import cache

from cases.archive.phones import BadNumber, normalise_number
from cases.domain.enums import Channel
from cases.domain.intake_message import IntakeMessage

log = logging.getLogger(__name__)

UNKNOWN_NUMBER = "unknown"  # the identity of faxes whose caller the gateway did not tell
_NUM = r"(?P<number>\+?\(?\d[\d\s().\-/]{4,}\d)"


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in patterns)


@dataclass(frozen=True, slots=True)
class FaxRule:
    name: str
    senders: tuple[str, ...]  # shell patterns over the lower-case sender address
    caller: tuple[re.Pattern[str], ...]  # group "number"; searched in the subject, then the body
    pages: tuple[re.Pattern[str], ...] = ()  # group "pages"
    station: tuple[re.Pattern[str], ...] = ()  # group "station"


_PAGES = _rx(
    r"\b(?P<pages>\d{1,3})\s*(?:pages?|page\(s\)|pp\.?)\b",
    r"\bpages?\s*[:：]\s*(?P<pages>\d{1,3})",
    r"(?:共\s*)?(?P<pages>\d{1,3})\s*页",
)
_STATION = _rx(
    r"\b(?:station(?:\s*id)?|tsi|csid|remote\s*id)\s*[:：]\s*(?P<station>[^\n]{1,60}?)\s*$",
    r"(?:对方|发送方)?(?:传真)?标识\s*[:：]\s*(?P<station>[^\n]{1,60}?)\s*$",
)

RULES: tuple[FaxRule, ...] = (
    # HylaFAX's faxrcvd / faxmail notice: "Sender:" is the TSI, "CallID1:" the caller id.
    FaxRule(
        "hylafax",
        senders=("faxmaster@*", "hylafax@*", "fax@*"),
        caller=_rx(r"^\s*(?:CallID1|CIDNumber|Caller\s*ID)\s*:\s*" + _NUM + r"\s*$"),
        pages=_rx(r"^\s*Pages\s*:\s*(?P<pages>\d{1,3})\s*$"),
        station=_rx(r"^\s*Sender\s*:\s*(?P<station>[^\n]{1,60}?)\s*$"),
    ),
    # eFax: 'eFax message from "+86 27 8456 1234" - 2 page(s), Caller-ID: 86-27-84561234'
    FaxRule(
        "efax",
        senders=("*@efax.com", "*@*.efax.com", "*@j2.com"),
        caller=_rx(r"caller-?id\s*[:：]\s*" + _NUM, r"message\s+from\s+\"?" + _NUM),
        pages=_PAGES,
        station=_STATION,
    ),
    # RingCentral: "New Fax Message from +86 27 8456 1234 on 11/30/2026 at 2:05 PM"
    FaxRule(
        "ringcentral",
        senders=("*@ringcentral.com", "*@*.ringcentral.com"),
        caller=_rx(r"fax\s+message\s+from\s+" + _NUM),
        pages=_PAGES,
        station=_STATION,
    ),
    # Multifunction printers, routers and Chinese fax servers: "Fax from +86 27 8456 1234",
    # "来自 027-84561234 的传真", "传真号码：027-84561234".
    FaxRule(
        "fax_from",
        senders=("fax@*", "fax-*@*", "fax.*@*", "fax_*@*", "faxmail@*", "fax2mail@*", "*@fax.*", "chuanzhen@*"),
        caller=_rx(
            r"\bfax\s+(?:message\s+)?from\s*[:：]?\s*" + _NUM,
            r"来自\s*" + _NUM + r"\s*的传真",
            r"(?:主叫|来电|发送方|传真)号码\s*[:：]\s*" + _NUM,
            r"\bcaller(?:\s*id)?\s*[:：]\s*" + _NUM,
        ),
        pages=_PAGES,
        station=_STATION,
    ),
)


def site_rules(gateways: tuple[str, ...]) -> tuple[FaxRule, ...]:
    """RULES with the site's own gateway addresses (KEFU_FAX_GATEWAYS) tried first: read the
    way the common "Fax from ..." formats are."""
    if not gateways:
        return RULES
    generic = next(r for r in RULES if r.name == "fax_from")
    site = replace(generic, name="site", senders=tuple(g.strip().lower() for g in gateways if g.strip()))
    return (site, *RULES)


@dataclass(frozen=True, slots=True)
class FaxHit:
    rule: str
    number: str  # E.164, or UNKNOWN_NUMBER
    pages: int | None
    station: str | None
    # Only a local-part pattern (fax@*) matched the sender: more evidence is needed (as_fax).
    weak: bool = False

    @property
    def rule_hit(self) -> str:
        return f"fax:{self.rule}" + ("" if self.number != UNKNOWN_NUMBER else ":no_number")


@cache
def _senders(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression for a rule's shell patterns (this runs for every mail)."""
    return re.compile("|".join(f"(?:{translate(p)})" for p in patterns))


def _weak(patterns: tuple[str, ...], address: str) -> bool:
    """Whether only patterns with a wildcard domain (fax@*) match the address."""
    strong = tuple(p for p in patterns if p.rsplit("@", 1)[-1] != "*")
    return not (strong and _senders(strong).match(address))


def _first(patterns: tuple[re.Pattern[str], ...], group: str, *texts: str) -> str | None:
    for text in texts:
        for pattern in patterns:
            if m := pattern.search(text):
                return m.group(group).strip()
    return None


def _number(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalise_number(raw)
    except BadNumber:
        return None


def match_fax(sender: str, subject: str, text: str, rules: tuple[FaxRule, ...] = RULES) -> FaxHit | None:
    """The gateway rule for a mail from `sender`, with what it read; None: not a gateway's mail."""
    address = sender.strip().lower()
    first: FaxHit | None = None
    for rule in rules:
        if not _senders(rule.senders).match(address):
            continue
        station = _first(rule.station, "station", subject, text)
        number = _number(_first(rule.caller, "number", subject, text)) or _number(station)
        pages = _first(rule.pages, "pages", subject, text)
        hit = FaxHit(
            rule.name, number or UNKNOWN_NUMBER, int(pages) if pages else None, station, _weak(rule.senders, address)
        )
        if number:
            return hit
        # Several rules may know this sender ("fax@..."): the first that reads a number decides.
        first = first or hit
    return first


FAX_DOCUMENTS = ("application/pdf", "image/tiff", "image/tif", "image/png", "image/jpeg")


def _is_document(filename: str, content_type: str) -> bool:
    return content_type.lower() in FAX_DOCUMENTS or filename.lower().endswith((".pdf", ".tif", ".tiff"))


def as_fax(msg: IntakeMessage, gateway: str, rules: tuple[FaxRule, ...] = RULES) -> IntakeMessage:
    """The mail as a fax when a gateway rule matches its sender; otherwise unchanged."""
    hit = match_fax(gateway, msg.subject, msg.text, rules)
    if hit is None:
        return msg
    document = any(_is_document(a.filename, a.content_type) for a in msg.attachments)
    if hit.number == UNKNOWN_NUMBER and not document:
        # Neither a caller nor a fax document: a person who happens to write from fax@..., not a fax.
        return msg
    if hit.weak and (hit.number == UNKNOWN_NUMBER or not document):
        # Only the local part matched: anyone may write from fax@their-domain.
        log.info("inbound %s: from a fax-like address without a gateway's caller and document: email", msg.source_id)
        return msg
    log.info(
        "inbound %s: fax gateway rule %s (caller %s, %s pages)",
        msg.source_id,
        hit.rule,
        hit.number,
        hit.pages if hit.pages is not None else "?",
    )
    name = hit.station if hit.station and _number(hit.station) is None else hit.number
    return replace(
        msg,
        channel=Channel.FAX,
        sender_identity=hit.number,
        sender_name=f"传真 Fax {name}",
        # The gateway's own threading headers name nothing of ours, and its address is no customer's.
        rule_hits=(*msg.rule_hits, hit.rule_hit),
    )
