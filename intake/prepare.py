"""The pure half of processing: raw mail -> rules -> IntakeMessage, or the reason to hold it.

No database and no I/O, so it can run in worker processes (intake/parse_pool.py) while the
event loop goes on serving SMTP and writing cases; its result is a plain, picklable value.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from cases.domain.delivery_report import DeliveryReport
from cases.domain.intake_message import IntakeMessage
from intake.dsn import read_report
from intake.email_adapter import NoSender, to_intake
from intake.fax_rules import RULES, FaxRule
from intake.mailparse import MailParseError, ParsedMail, parse_mail
from intake.mailrules import MailAction, evaluate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawRow:
    inbound_id: int
    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Prepared:
    inbound_id: int
    message: IntakeMessage | None  # None: quarantine with `reason` (or record `report`)
    rule_hits: tuple[str, ...] = ()
    reason: str | None = None
    report: DeliveryReport | None = None  # a bounce: recorded on the notice it is about, no case


def prepare(row: RawRow, reference_prefix: str, fax_rules: tuple[FaxRule, ...] = RULES) -> Prepared:
    """Never raises: a defect of the message itself, or a rule that holds it, is a reason."""
    hits: tuple[str, ...] = ()
    try:
        parsed = parse_mail(row.raw)
        verdict = evaluate(parsed, row.envelope_from)
        hits = tuple(verdict.hits)
        if verdict.action is MailAction.HOLD:
            return Prepared(row.inbound_id, None, hits, f"held by rule: {', '.join(verdict.hits)}")
        if "bounce" in verdict.hits:
            report = read_report(row.raw, _plus_tokens(parsed, row.envelope_to))
            if report is not None:
                return Prepared(row.inbound_id, None, (*hits, f"dsn_{report.kind}"), report=report)
        msg = to_intake(
            parsed,
            verdict,
            inbound_id=row.inbound_id,
            envelope_from=row.envelope_from,
            envelope_to=list(row.envelope_to),
            received_at=row.received_at,
            reference_prefix=reference_prefix,
            fax_rules=fax_rules,
        )
    except (NoSender, MailParseError) as exc:
        return Prepared(row.inbound_id, None, hits, str(exc))
    except Exception as exc:  # a bug of ours on this input: keep the mail, show why, re-run after a fix
        log.exception("inbound #%d could not be parsed", row.inbound_id)
        return Prepared(row.inbound_id, None, hits, f"processing failed: {type(exc).__name__}: {exc}")
    return Prepared(row.inbound_id, msg, hits)


def _plus_tokens(parsed: ParsedMail, envelope_to: tuple[str, ...]) -> tuple[str, ...]:
    """The +tokens of the addresses a bounce came to: our VERP envelope sender, which a report
    is sent to (RFC 3464 section 2) and usually names in its To (IMAP keeps no envelope)."""
    addresses = [*envelope_to, *(a.address for a in parsed.to)]
    tokens = (a.partition("@")[0].partition("+")[2] for a in addresses)
    return tuple(dict.fromkeys(t for t in tokens if t))


def prepare_many(rows: list[RawRow], reference_prefix: str, fax_rules: tuple[FaxRule, ...] = RULES) -> list[Prepared]:
    return [prepare(row, reference_prefix, fax_rules) for row in rows]
