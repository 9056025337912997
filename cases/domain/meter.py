"""The meter: how the adapters (intake, the bots, the dispatcher) say what they did, counted,
without knowing how it is shown.

A port, like the clock: `Meter` is handed to each adapter by the composition root
(kefu/bootstrap.py), which builds the Prometheus registry of kefu/metrics.py behind it; the
adapters never import prometheus-client, and `cases/` never imports kefu/. `NO_METER` counts
nothing (a part built by a test or a tool that nobody scrapes). Which metric each `Tally`
becomes, with which labels, is the table in kefu/metrics.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Tally(StrEnum):
    """Something that happened, to be counted (label: what it is counted by)."""

    MAIL_RECEIVED = "mail_received"  # handed to the inbox by an edge (source: smtp, imap)
    MAIL_STORED = "mail_stored"  # committed as a new inbound row
    MAIL_DUPLICATE = "mail_duplicate"  # the same mail again: acknowledged, stored once
    MAIL_TEMPFAIL = "mail_tempfail"  # answered 451: the sender tries again later
    MAIL_PROCESSED = "mail_processed"  # taken through the processor (into a case, or quarantined)
    MAIL_QUARANTINED = "mail_quarantined"  # set aside with a reason for staff
    NOTICE_SENT = "notice_sent"  # (channel: email, telegram)
    NOTICE_FAILED = "notice_failed"  # a transient failure: tried again after a backoff (channel)
    NOTICE_DEAD = "notice_dead"  # given up on (channel)
    TELEGRAM_UPDATE = "telegram_update"  # (outcome: stored, duplicate, handled, failed)


class Measure(StrEnum):
    """Something that took time, observed in seconds."""

    NOTICE_LAG = "notice_lag"  # from a notice being due to its send (channel)


class Meter(Protocol):
    def count(self, what: Tally, n: int = 1, **labels: str) -> None: ...

    def observe(self, what: Measure, seconds: float, **labels: str) -> None: ...


class _NoMeter:
    def count(self, what: Tally, n: int = 1, **labels: str) -> None:
        pass

    def observe(self, what: Measure, seconds: float, **labels: str) -> None:
        pass


NO_METER: Meter = _NoMeter()
