"""Record classes and their default retention (procedure section 8, "Record Control": records are
kept for one year unless a customer or IATF 16949 asks for longer). docs/records.md says what
each class holds and what a purge removes."""

from __future__ import annotations

from enum import StrEnum


class RecordKind(StrEnum):
    # A closed case (closed or "no action"), counted from its closing: its conversation, its
    # attachments and raw mail, its contact's addresses, the names in its history.
    CASE = "case"
    # Raw bytes of inbound mail that belongs to no case (quarantined, held bulk mail, bounces),
    # counted from receipt.
    RAW_MAIL = "raw_mail"
    # Files in the outgoing folder (`var/outgoing/*.eml`, written when no relay is set),
    # counted from the time in the file's name.
    OUTGOING_MAIL = "outgoing_mail"


DEFAULT_RETENTION_DAYS: dict[RecordKind, int] = {
    RecordKind.CASE: 365,
    RecordKind.RAW_MAIL: 365,
    RecordKind.OUTGOING_MAIL: 365,
}

PURGED = "[purged 已清除]"  # what stands where personal text was

# History `changes` whose values are facts of the part and the procedure, not of a person:
# kept by a purge. Every other text value in a purged case's history is replaced by PURGED.
FACT_FIELDS = frozenset(
    {
        "state",
        "type",
        "channel",
        "severity",
        "department_id",
        "part_number",
        "batch",
        "quantity",
        "failure_mode",
        "failure_category",
        "field_failure",
        "severity_by_approver",
        "customer_deadline",
        "reply_channel",
        "language",
        "rating",
        "rating_score",
        "decision",
        "service_report_state",
        "closed_at",
        "legal_hold",
    }
)
