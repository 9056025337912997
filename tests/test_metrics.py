"""GET /metrics (issue 17, item 10): a real SMTP mail, an API call and a notice move the
counters, read back with Prometheus' own text parser; the latency histogram is labelled by the
route's template, never the path; and who may read it: loopback without a token, anyone else
with an admin's token, whatever X-Forwarded-For says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from cases.settings import Settings
from kefu.bootstrap import Kefu
from kefu.web.app import create_app, web_services
from kefu.web.metrics_view import peer_allowed
from tests.apihelpers import STAFF, AiohttpClient
from tests.conftest import Relay
from tests.mailhelpers import customer_mail, eventually, smtp_send
from tests.served import SocketApi, served_with_staff

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
NEWSLETTER = {"Precedence": "bulk", "List-Id": "Teile Newsletter <news.teile.example>"}


def parsed(text: str) -> Samples:
    """Every sample of the exposition, keyed by its name and labels (the parser raises on
    anything that is not the text format)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def service(settings: Settings, relay: Relay) -> AsyncIterator[tuple[Kefu, SocketApi]]:
    async with served_with_staff(settings, relay.port) as running:
        yield running


async def scrape(kefu: Kefu, headers: dict[str, str] | None = None) -> Samples:
    host, port = kefu.settings.http_listen
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}/metrics", headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parsed(await resp.text())


async def test_a_mail_an_api_call_and_a_notice_move_the_counters(service: tuple[Kefu, SocketApi], relay: Relay) -> None:
    kefu, api = service
    before = await scrape(kefu)
    assert value(before, "kefu_mail_received_total", source="smtp") == 0
    assert value(before, "kefu_database_up") == 1

    mail = customer_mail(
        "张伟 <zhang.wei@dfmc-parts.cn>", "刹车片异响", "装车后刹车片异响。", message_id="m1@dfmc-parts.cn"
    )
    await smtp_send(kefu.settings.smtp_listen[1], mail)
    await smtp_send(kefu.settings.smtp_listen[1], mail)  # the sender's retry: stored once
    news = customer_mail("news@teile.example", "Angebote", "Neue Angebote.", message_id="n1@teile.example")
    for name, header in NEWSLETTER.items():
        news[name] = header
    await smtp_send(kefu.settings.smtp_listen[1], news)  # bulk mail from a stranger: quarantined
    await eventually(lambda: relay.messages, what="the acknowledgement")
    cases = (await api.call("gm", "GET", "/cases"))["items"]
    reference = cases[0]["reference"]
    await api.call("gm", "GET", f"/cases/{reference}")
    await api.call("gm", "GET", "/cases/FB-2026-999999", expect=404)

    after = await eventually(
        lambda: _when_settled(kefu), what="the processor, the dispatcher and the counters to settle"
    )
    assert value(after, "kefu_mail_received_total", source="smtp") == 3
    assert value(after, "kefu_mail_stored_total") == 2
    assert value(after, "kefu_mail_duplicates_total") == 1
    assert value(after, "kefu_mail_processed_total") == 2
    assert value(after, "kefu_mail_quarantined_total") == 1
    assert value(after, "kefu_smtp_tempfail_total") == 0
    assert value(after, "kefu_notices_sent_total", channel="email") >= 1
    assert value(after, "kefu_notice_dispatch_lag_seconds_count", channel="email") >= 1
    assert value(after, "kefu_backlog_inbound_quarantined") == 1
    assert value(after, "kefu_backlog_inbound_pending") == 0
    detail = {"method": "GET", "route": "/api/v1/cases/{reference}"}
    assert value(after, "kefu_http_request_duration_seconds_count", **detail) == 2
    assert value(after, "kefu_http_requests_total", status="200", **detail) == 1
    assert value(after, "kefu_http_requests_total", status="404", **detail) == 1
    routes = {dict(labels).get("route") for _, labels in after}
    assert reference not in str(routes) and "FB-2026-999999" not in str(routes)  # templates, never paths


async def _when_settled(kefu: Kefu) -> Samples | None:
    samples = await scrape(kefu)
    settled = (
        value(samples, "kefu_mail_processed_total") == 2
        and value(samples, "kefu_backlog_notices_pending") == 0
        and value(samples, "kefu_notices_sent_total", channel="email") >= 1
    )
    return samples if settled else None


async def test_a_database_failure_counts_a_451(service: tuple[Kefu, SocketApi]) -> None:
    import smtplib

    kefu, _ = service

    async def broken(batch):  # type: ignore[no-untyped-def]
        raise OSError("disk I/O error")

    real = kefu.inbox._store_batch
    kefu.inbox._store_batch = broken  # type: ignore[method-assign]
    try:
        mail = customer_mail("zhao@faw-parts.cn", "离合器打滑", "离合器打滑。", message_id="t451@faw-parts.cn")
        with pytest.raises(smtplib.SMTPDataError):
            await smtp_send(kefu.settings.smtp_listen[1], mail)
    finally:
        kefu.inbox._store_batch = real  # type: ignore[method-assign]
    samples = await scrape(kefu)
    assert value(samples, "kefu_smtp_tempfail_total") == 1
    assert value(samples, "kefu_mail_received_total", source="smtp") == 1
    assert value(samples, "kefu_mail_stored_total") == 0


# -- who may read it ----------------------------------------------------------------------------
FORGED_PEER = "203.0.113.7"  # TEST-NET-3: no machine of ours


@web.middleware
async def from_elsewhere(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """The request as if its socket peer were another machine (what a test client on loopback
    cannot be): aiohttp's `remote` is the peer kefu checks."""
    return await handler(request.clone(remote=FORGED_PEER))


async def _client(kefu: Kefu, aiohttp_client: AiohttpClient, forged: bool) -> tuple[object, dict[str, str]]:
    app = create_app(web_services(kefu))
    if forged:
        app.middlewares.insert(0, from_elsewhere)
    client = await aiohttp_client(app)
    tokens = {}
    known = {user.username for user in await kefu.users.list()}
    for name, roles, department in STAFF:
        if name not in known:
            await kefu.users.add(name, roles=roles, department=department)
        tokens[name] = (await kefu.users.create_token(name)).token
    return client, tokens


async def test_loopback_reads_without_a_token(kefu: Kefu, aiohttp_client: AiohttpClient) -> None:
    client, _ = await _client(kefu, aiohttp_client, forged=False)
    resp = await client.get("/metrics")  # type: ignore[attr-defined]
    assert resp.status == 200
    assert value(parsed(await resp.text()), "kefu_database_up") == 1


async def test_another_peer_needs_an_admin_token_whatever_x_forwarded_for_says(
    kefu: Kefu, aiohttp_client: AiohttpClient
) -> None:
    client, tokens = await _client(kefu, aiohttp_client, forged=True)
    get = client.get  # type: ignore[attr-defined]
    spoofed = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    resp = await get("/metrics", headers=spoofed)
    assert resp.status == 401
    assert "KEFU_METRICS_ALLOW" in (await resp.json())["error"]["message"]
    assert (await get("/metrics", headers={"Authorization": "Bearer not-a-token"})).status == 401
    assert (await get("/metrics", headers={"Authorization": f"Bearer {tokens['gm']}"})).status == 403
    resp = await get("/metrics", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert resp.status == 200
    assert value(parsed(await resp.text()), "kefu_database_up") == 1


async def test_the_allow_list_is_a_setting(kefu: Kefu, aiohttp_client: AiohttpClient) -> None:
    public = replace(kefu, settings=replace(kefu.settings, metrics_allow=("0.0.0.0/0", "::/0")))
    client, _ = await _client(public, aiohttp_client, forged=True)
    assert (await client.get("/metrics")).status == 200  # type: ignore[attr-defined]
    closed = replace(kefu, settings=replace(kefu.settings, metrics_allow=()))
    client, tokens = await _client(closed, aiohttp_client, forged=False)
    assert (await client.get("/metrics")).status == 401  # type: ignore[attr-defined]
    resp = await client.get("/metrics", headers={"Authorization": f"Bearer {tokens['admin']}"})  # type: ignore[attr-defined]
    assert resp.status == 200


@pytest.mark.parametrize(
    ("peer", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # a dual-stack socket's loopback
        ("10.0.0.1", False),
        ("203.0.113.7", False),
        ("::ffff:203.0.113.7", False),
        ("fe80::1%eth0", False),
        ("", False),
        (None, False),
        ("localhost", False),  # a name is no peer address
    ],
)
def test_peer_allowed(peer: str | None, allowed: bool) -> None:
    assert peer_allowed(peer, Settings().metrics_allow) is allowed


def test_the_allow_list_setting_reads_networks_and_none() -> None:
    from cases.settings import SettingsError

    assert Settings.from_values({"KEFU_METRICS_ALLOW": "10.1.2.3, 192.0.2.0/24"}).metrics_allow == (
        "10.1.2.3/32",
        "192.0.2.0/24",
    )
    assert Settings.from_values({"KEFU_METRICS_ALLOW": "none"}).metrics_allow == ()
    with pytest.raises(SettingsError, match="KEFU_METRICS_ALLOW"):
        Settings.from_values({"KEFU_METRICS_ALLOW": "everyone"})


def _families(kefu: Kefu) -> Iterator[str]:
    text = kefu.metrics.render({"inbound_pending": 0, "oldest_pending_seconds": None}, {}).decode()
    return (f.name for f in text_string_to_metric_families(text))


def test_each_kefu_counts_for_itself(kefu: Kefu) -> None:
    """One registry per built kefu: two in one process neither clash nor share counts."""
    from cases.domain.meter import Tally
    from kefu.metrics import Metrics

    other = Metrics()
    other.count(Tally.MAIL_STORED, 5)
    samples = parsed(kefu.metrics.render(None, {}).decode())
    assert value(samples, "kefu_mail_stored_total") == 0
    assert value(samples, "kefu_database_up") == 0
    assert {"kefu_backlog_inbound_pending", "kefu_backlog_oldest_pending_seconds"} <= set(_families(kefu))


async def test_telegram_updates_are_counted_by_outcome(kefu: Kefu) -> None:
    from bots.updates import UpdateStore
    from cases.domain.clock import utcnow

    store = UpdateStore(kefu.db, utcnow, kefu.metrics)
    update = {"update_id": 7, "message": {"message_id": 1, "date": 0, "chat": {"id": 42, "type": "private"}}}
    assert await store.store([update]) == 1
    assert await store.store([update]) == 0  # Telegram delivered it again
    await store.processed(7)
    samples = parsed(kefu.metrics.render(None, {}).decode())
    assert value(samples, "kefu_telegram_updates_total", outcome="stored") == 1
    assert value(samples, "kefu_telegram_updates_total", outcome="duplicate") == 1
    assert value(samples, "kefu_telegram_updates_total", outcome="handled") == 1
    assert value(samples, "kefu_telegram_updates_total", outcome="failed") == 0


def test_the_imap_mailbox_shows_its_state_and_last_poll(kefu: Kefu) -> None:
    from datetime import UTC, datetime

    polled = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
    running = {"imap": lambda: {"state": "running", "last_check": polled.isoformat(), "stored": 3}}
    samples = parsed(kefu.metrics.render(None, running).decode())
    assert value(samples, "kefu_imap_connected") == 1
    assert value(samples, "kefu_imap_state", state="running") == 1
    assert value(samples, "kefu_imap_last_poll_timestamp_seconds") == polled.timestamp()
    broken = {"imap": lambda: {"state": "error", "last_check": None}}
    samples = parsed(kefu.metrics.render(None, broken).decode())
    assert value(samples, "kefu_imap_connected") == 0
    assert value(samples, "kefu_imap_state", state="error") == 1
    assert ("kefu_imap_last_poll_timestamp_seconds", frozenset()) not in samples


async def test_every_metric_is_in_the_table_of_docs_operating(kefu: Kefu) -> None:
    from pathlib import Path

    from cases.queries.operations import backlog

    async with kefu.db.reader() as s:
        waiting = await backlog(s, kefu.clock())
    imap = {"imap": lambda: {"state": "running", "last_check": kefu.clock().isoformat()}}
    text = kefu.metrics.render(waiting, imap).decode()
    docs = (Path(__file__).parent.parent / "docs" / "operating.md").read_text()
    shown = {name if kind != "counter" else f"{name}_total" for name, kind in _kinds(text)}
    missing = sorted(n for n in shown if f"| `{n}` |" not in docs)
    assert len(shown) >= 20 and missing == [], f"docs/operating.md, 'Metrics', lacks {missing}"


def _kinds(text: str) -> Iterator[tuple[str, str]]:
    for family in text_string_to_metric_families(text):
        if family.name.startswith("kefu_") and not family.name.endswith("_created"):  # a counter's start time
            yield family.name, family.type
