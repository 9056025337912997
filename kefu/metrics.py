"""kefu's Prometheus metrics: the one registry of a kefu process, and what fills it.

Three kinds of figures, each filled where it is known:

- counters and the notice lag, reported by the adapters through the `Meter` port
  (cases/domain/meter.py): intake/ (SMTP, IMAP, the inbox, the processor), notifications/
  (the dispatcher) and bots/ (Telegram updates) call `meter.count(Tally.…)`; the table
  `COUNTED` below says which metric each becomes. The composition root (kefu/bootstrap.py)
  hands this object to them as their meter; none of them imports this module.
- the API's latency per route, timed by the web's middleware (kefu/web/metrics_view.py);
- gauges read at scrape time: the backlog that GET /health shows (a few counts on indexes,
  read by the /metrics handler) and the IMAP mailbox's state.

One registry per `Metrics` (not prometheus-client's global one), so that every kefu built in
one process (the tests build many) counts for itself. A process counts what it runs: scrape
every kefu process (`kefu serve --only web` workers too); the backlog gauges are the same in
each, as they are read from the shared database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from cases.domain.meter import Measure, Tally

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # Prometheus' text format 0.0.4


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: its name (counters get `_total` appended in the output), what it counts, and
    its one label with every value it takes (each shown from 0 on, before anything happened)."""

    name: str
    doc: str
    label: str | None = None
    values: tuple[str, ...] = ()


NOTICE_CHANNELS = ("email", "telegram")

COUNTED: dict[Tally, Family] = {
    Tally.MAIL_RECEIVED: Family(
        "kefu_mail_received", "Mail an intake edge handed to the inbox, by source", "source", ("smtp", "imap")
    ),
    Tally.MAIL_STORED: Family("kefu_mail_stored", "Mail committed to the inbox as a new inbound row"),
    Tally.MAIL_DUPLICATE: Family("kefu_mail_duplicates", "Mail received again: acknowledged, stored once"),
    Tally.MAIL_TEMPFAIL: Family("kefu_smtp_tempfail", "SMTP answers 451 (could not store now; the sender tries again)"),
    Tally.MAIL_PROCESSED: Family("kefu_mail_processed", "Inbound mail taken through the processor, any outcome"),
    Tally.MAIL_QUARANTINED: Family("kefu_mail_quarantined", "Inbound mail quarantined with a reason for staff"),
    Tally.NOTICE_SENT: Family("kefu_notices_sent", "Notices sent, by channel", "channel", NOTICE_CHANNELS),
    Tally.NOTICE_FAILED: Family(
        "kefu_notices_failed",
        "Notice sends that failed and will be tried again, by channel",
        "channel",
        NOTICE_CHANNELS,
    ),
    Tally.NOTICE_DEAD: Family("kefu_notices_dead", "Notices given up on, by channel", "channel", NOTICE_CHANNELS),
    Tally.TELEGRAM_UPDATE: Family(
        "kefu_telegram_updates",
        "Telegram updates by outcome: stored, duplicate (delivered again), handled, failed (a try failed)",
        "outcome",
        ("stored", "duplicate", "handled", "failed"),
    ),
}

TIMED: dict[Measure, tuple[Family, tuple[float, ...]]] = {
    Measure.NOTICE_LAG: (
        Family(
            "kefu_notice_dispatch_lag_seconds",
            "From a notice being due (fanned out, or its retry's time) to its send, by channel",
            "channel",
            NOTICE_CHANNELS,
        ),
        (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600),
    ),
}

HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # a path no route serves: one label value, never the path itself


class Metrics:
    """The registry of one kefu, and the `Meter` its adapters count through."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters = {what: _metric(Counter, f, self.registry) for what, f in COUNTED.items()}
        self._timers = {
            what: _metric(Histogram, f, self.registry, buckets=buckets) for what, (f, buckets) in TIMED.items()
        }
        self.http_seconds = Histogram(
            "kefu_http_request_duration_seconds",
            "API and console requests: time to answer, by method and route (the route's path template)",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.http_requests = Counter(
            "kefu_http_requests",
            "API and console requests answered, by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._scraped = _ScrapeTime()
        self.registry.register(self._scraped)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    # -- the Meter port ----------------------------------------------------------------------
    def count(self, what: Tally, n: int = 1, **labels: str) -> None:
        counter = self._counters[what]
        (counter.labels(**labels) if labels else counter).inc(n)

    def observe(self, what: Measure, seconds: float, **labels: str) -> None:
        timer = self._timers[what]
        (timer.labels(**labels) if labels else timer).observe(max(0.0, seconds))

    # -- the web -----------------------------------------------------------------------------
    def request(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """One answered request; `route` is the matched route's template (None: no route)."""
        method = method if method in HTTP_METHODS else "other"
        route = route or UNMATCHED
        self.http_seconds.labels(method, route).observe(seconds)
        self.http_requests.labels(method, route, str(status)).inc()

    def render(self, backlog: Mapping[str, Any] | None, channels: dict[str, Callable[[], dict[str, Any]]]) -> bytes:
        """The text exposition, with the scrape-time gauges from `backlog` (None: the database
        did not answer) and the channels' states."""
        self._scraped.backlog = backlog
        self._scraped.imap = channels["imap"]() if "imap" in channels else None
        return generate_latest(self.registry)


def _metric(kind: Any, f: Family, registry: CollectorRegistry, **extra: Any) -> Any:
    metric = kind(f.name, f.doc, [f.label] if f.label else [], registry=registry, **extra)
    for value in f.values:
        metric.labels(value)  # shown at 0 before the first event
    return metric


class _ScrapeTime:
    """Gauges read when Prometheus scrapes: set by `Metrics.render` just before it renders."""

    def __init__(self) -> None:
        self.backlog: Mapping[str, Any] | None = None
        self.imap: Mapping[str, Any] | None = None

    def describe(self) -> list[Metric]:
        return []  # read at scrape time only

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "kefu_database_up",
            "1 when the database answered this scrape's backlog query",
            value=int(self.backlog is not None),
        )
        for key, value in (self.backlog or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float | None):
                continue
            # None: nothing is waiting (oldest_pending_seconds), which has waited 0 s
            yield GaugeMetricFamily(
                f"kefu_backlog_{key}", BACKLOG_DOCS.get(key, key.replace("_", " ")), value=value or 0
            )
        if self.imap is not None:
            yield from _imap_gauges(self.imap)


BACKLOG_DOCS = {
    "inbound_pending": "Inbound mail stored and not yet processed",
    "oldest_pending_seconds": "Age of the oldest inbound mail not yet processed (0: none)",
    "inbound_quarantined": "Inbound mail in the quarantine",
    "notices_pending": "Notices still to send",
    "notices_dead": "Notices given up on",
}


def _imap_gauges(status: Mapping[str, Any]) -> Iterator[Metric]:
    state = str(status.get("state"))
    yield GaugeMetricFamily(
        "kefu_imap_connected", "1 while the IMAP mailbox is connected and read", value=int(state == "running")
    )
    states = GaugeMetricFamily("kefu_imap_state", "The IMAP poller's state (1 for the current one)", labels=["state"])
    states.add_metric([state], 1)
    yield states
    last = status.get("last_check")
    if last:
        yield GaugeMetricFamily(
            "kefu_imap_last_poll_timestamp_seconds",
            "When the IMAP folder was last read through (Unix time)",
            value=datetime.fromisoformat(str(last)).timestamp(),
        )
