"""Loops and noise: which mail we may answer automatically, as one table of named rules.

Modelled on GNU Mailman's chains: every rule is small and named, the engine runs them all and
records every hit, and the strongest action wins. FreeScout users reported 8,000-mail loops
between two auto-responders; each rule below closes one way that happens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cases.domain.intake_message import NewCase
from intake.mailparse import ParsedMail


class MailAction(StrEnum):
    ACCEPT = "accept"  # open or update a case and acknowledge it
    NO_AUTO_REPLY = "no_auto_reply"  # open or update a case, but send nothing automatically
    HOLD = "hold"  # keep for a person to look at; do not process


_STRENGTH = {MailAction.ACCEPT: 0, MailAction.NO_AUTO_REPLY: 1, MailAction.HOLD: 2}
# Whether mail that threads to no case may open one: the strictest of the hits wins.
_STRICTNESS = {NewCase.ALLOWED: 0, NewCase.KNOWN_SENDER: 1, NewCase.THREAD_ONLY: 2}


@dataclass(frozen=True, slots=True)
class MailRule:
    name: str
    # (parsed mail, envelope sender): "" is the null sender <>, None means unknown.
    test: Callable[[ParsedMail, str | None], bool]
    action: MailAction
    note: str
    automatic: bool  # a hit means a machine wrote this mail: never a satisfaction rating
    # Mail that threads to no case: may it open one (ALLOWED), only from a known contact
    # (KNOWN_SENDER: newsletters, list mail), or never (THREAD_ONLY: auto-replies)? Else held.
    new_case: NewCase = NewCase.ALLOWED


@dataclass(frozen=True, slots=True)
class MailVerdict:
    action: MailAction
    hits: tuple[str, ...]  # names of every rule that fired, in table order
    is_automatic: bool  # an auto-reply, out-of-office or bounce: never a satisfaction rating
    new_case: NewCase = NewCase.ALLOWED
    new_case_rule: str = ""  # the (first) rule that set new_case, for the quarantine's reason
    new_case_hits: tuple[str, ...] = ()  # every hit whose new_case is not ALLOWED (an admin may relax them)


_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_SUPPRESS = frozenset({"oof", "all", "autoreply"})
_OUT_OF_OFFICE = re.compile(
    r"自动回复|自动答复|自动回覆|auto[- ]?reply|automatic reply|auto[- ]?response"
    r"|out of (?:the )?office|不在办公室|休假(?:中|通知|自动)|正在休假|^\W{0,3}休假",
    re.IGNORECASE,
)


def _header(parsed: ParsedMail, name: str) -> str:
    return parsed.headers.get(name, "").strip().lower()


def _loop(parsed: ParsedMail, envelope: str | None) -> bool:
    return "x-kefu-loop" in parsed.headers


def _bounce(parsed: ParsedMail, envelope: str | None) -> bool:
    if parsed.is_report or "x-failed-recipients" in parsed.headers:
        return True
    local = parsed.sender.address.partition("@")[0] if parsed.sender else ""
    return local in _DAEMONS and _null_sender(parsed, envelope)


def _auto_submitted(parsed: ParsedMail, envelope: str | None) -> bool:
    # RFC 3834 section 5: any value other than "no" (parameters after ";" do not count).
    value = _header(parsed, "auto-submitted").partition(";")[0].strip()
    return bool(value) and value != "no"


def _precedence_bulk(parsed: ParsedMail, envelope: str | None) -> bool:
    # Vacation programs mark their answers "Precedence: junk" or "bulk".
    return _header(parsed, "precedence") in ("bulk", "junk")


def _precedence_list(parsed: ParsedMail, envelope: str | None) -> bool:
    return _header(parsed, "precedence") == "list"


def _mailing_list(parsed: ParsedMail, envelope: str | None) -> bool:
    # RFC 2919 List-Id, RFC 2369 List-Unsubscribe.
    return "list-id" in parsed.headers or "list-unsubscribe" in parsed.headers


def _autoreply_header(parsed: ParsedMail, envelope: str | None) -> bool:
    return "x-autoreply" in parsed.headers or "x-autorespond" in parsed.headers


def _suppress(parsed: ParsedMail, envelope: str | None) -> bool:
    # Microsoft's X-Auto-Response-Suppress: the sender asks not to be auto-answered.
    values = {v.strip() for v in _header(parsed, "x-auto-response-suppress").split(",")}
    return bool(values & _SUPPRESS)


def _null_sender(parsed: ParsedMail, envelope: str | None) -> bool:
    # RFC 5321 section 4.5.5 and RFC 3834 section 2: never answer MAIL FROM:<>.
    if envelope is None:  # IMAP: no envelope; the delivering MTA wrote it into Return-Path
        return parsed.headers.get("return-path", "").strip() == "<>"
    return envelope == ""


def _out_of_office_subject(parsed: ParsedMail, envelope: str | None) -> bool:
    return _OUT_OF_OFFICE.search(parsed.subject) is not None


HOLD, QUIET = MailAction.HOLD, MailAction.NO_AUTO_REPLY
KNOWN, THREAD = NewCase.KNOWN_SENDER, NewCase.THREAD_ONLY

# name, test, action, note, automatic, new case: a site changes its policy here, one row a rule.
RULES: tuple[MailRule, ...] = (
    MailRule("loop", _loop, HOLD, "carries our own loop header: a mail we sent came back", True),
    MailRule("bounce", _bounce, QUIET, "delivery report (RFC 3464) or mailer-daemon", True, THREAD),
    MailRule("auto_submitted", _auto_submitted, QUIET, "Auto-Submitted other than no (RFC 3834)", True, THREAD),
    MailRule("precedence_bulk", _precedence_bulk, QUIET, "Precedence bulk or junk", True, KNOWN),
    MailRule("precedence_list", _precedence_list, QUIET, "Precedence list", False, KNOWN),
    MailRule("mailing_list", _mailing_list, QUIET, "sent through a mailing list (List-Id)", False, KNOWN),
    MailRule("autoreply_header", _autoreply_header, QUIET, "X-Autoreply / X-Autorespond", True, THREAD),
    MailRule("suppress_header", _suppress, QUIET, "X-Auto-Response-Suppress asks for no answer", False),
    # RFC 3834 section 3.3: auto-responders send from the null sender.
    MailRule("null_sender", _null_sender, QUIET, "null envelope sender <>", True, THREAD),
    MailRule("out_of_office", _out_of_office_subject, QUIET, "out-of-office subject", True, THREAD),
)


def evaluate(parsed: ParsedMail, envelope_sender: str | None, rules: tuple[MailRule, ...] = RULES) -> MailVerdict:
    """Run every rule; the strongest action wins (HOLD > NO_AUTO_REPLY > ACCEPT), and the
    strictest new-case policy (THREAD_ONLY > KNOWN_SENDER > ALLOWED).

    envelope_sender is SMTP MAIL FROM without <>: "" for the null sender; None when the
    channel has no envelope (IMAP), in which case Return-Path stands in for it.
    """
    envelope = None if envelope_sender is None else envelope_sender.strip().strip("<>").strip()
    action, hits, automatic = MailAction.ACCEPT, [], False
    new_case, new_case_rule, restricting = NewCase.ALLOWED, "", []
    for rule in rules:
        if rule.test(parsed, envelope):
            hits.append(rule.name)
            automatic = automatic or rule.automatic
            if _STRENGTH[rule.action] > _STRENGTH[action]:
                action = rule.action
            if rule.new_case is not NewCase.ALLOWED:
                restricting.append(rule.name)
            if _STRICTNESS[rule.new_case] > _STRICTNESS[new_case]:
                new_case, new_case_rule = rule.new_case, rule.name
    return MailVerdict(action, tuple(hits), automatic, new_case, new_case_rule, tuple(restricting))
