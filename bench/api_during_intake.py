"""The REST API's latency while mail streams in: a running kefu (SQLite, as `kefu serve` on this
machine) takes mail over SMTP at a steady rate while a reader asks ``GET /api/v1/cases`` at a
steady rate; prints the API's latency percentiles and what intake kept up with.

    python -m bench.api_during_intake [--mails-per-second 200] [--requests-per-second 50] [--seconds 20]

Senders and reader are processes of their own, so their work is not on kefu's event loop, and
both are bounded: ``rate × seconds`` mails and requests, at most ``--in-flight`` requests at once.
A request's latency is from its start to the end of its body. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.corpus import generate_corpus
from bench.smtp_client import PipeliningSender, stuffed
from cases.settings import Settings

Mail = tuple[str, tuple[str, ...], bytes]


def _send(port: int, mails: list[Mail], rate: float, start_at: float, out: mp.Queue[tuple[int, int]]) -> None:
    """Send `mails` at `rate` a second from `start_at` (time.time()), two connections; a sender
    that falls behind sends at once, so it never sends more than its share."""

    def run(part: list[Mail], offset: int, step: int) -> None:
        sent = errors = 0
        c = PipeliningSender("127.0.0.1", port)
        for i, (sender, rcpts, data) in enumerate(part):
            delay = start_at + (offset + i * step) / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            try:
                c.send(sender, rcpts, stuffed(data))
                sent += 1
            except Exception:  # counted, not raised: the figures say what happened
                errors += 1
        c.close()
        out.put((sent, errors))

    threads = [threading.Thread(target=run, args=(mails[i::2], i, 2)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _read(
    base: str,
    token: str,
    rate: float,
    count: int,
    in_flight: int,
    start_at: float,
    out: mp.Queue[tuple[list[float], int]],
) -> None:
    import aiohttp

    async def main() -> None:
        latencies: list[float] = []
        errors = 0
        gate = asyncio.Semaphore(in_flight)
        headers = {"Authorization": f"Bearer {token}"}

        async def one(http: aiohttp.ClientSession) -> None:
            nonlocal errors
            async with gate:
                t = time.perf_counter()
                try:
                    async with http.get(f"{base}/cases", headers=headers) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    latencies.append(time.perf_counter() - t)
                else:
                    errors += 1

        async with aiohttp.ClientSession() as http:
            tasks = []
            for i in range(count):
                delay = start_at + i / rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(http)))
            await asyncio.gather(*tasks)
        out.put((latencies, errors))

    asyncio.run(main())


async def measure(args: argparse.Namespace, folder: Path) -> dict[str, float]:
    from cases.services.users import seed_departments
    from cases.store.migrate import upgrade_async
    from cases.store.models import InboundMessage, InboundStatus
    from kefu.bootstrap import bootstrap
    from kefu.parts import start
    from tests.conftest import free_port

    defaults = Settings.from_env({})
    settings = Settings(
        data_dir=folder / "kefu",
        secret_key="bench",
        mail_domains=("kefu.example",),
        smtp_listen=("127.0.0.1", free_port()),
        http_listen=("127.0.0.1", free_port()),
        auto_mail_per_recipient_per_day=10**6,
        parse_workers=defaults.parse_workers,
    )
    await upgrade_async(settings.sqlalchemy_url)
    kefu = bootstrap(settings, poll_seconds=0.5)
    await seed_departments(kefu.db)
    await kefu.users.add("reader", roles=["approver"])
    token = (await kefu.users.create_token("reader")).token
    kefu.dispatcher.run = _idle  # type: ignore[method-assign]  # intake and the API are measured, not sending
    started = await start(kefu)
    await asyncio.gather(*(asyncio.wrap_future(f) for f in kefu.processor.pool.warm_up()))

    count = int(args.mails_per_second * args.seconds)
    mails = [(m.sender, m.recipients, m.data) for m in generate_corpus(count)]
    requests = int(args.requests_per_second * args.seconds)
    sent_q: mp.Queue[tuple[int, int]] = mp.Queue()
    read_q: mp.Queue[tuple[list[float], int]] = mp.Queue()
    start_at = time.time() + 1.0  # both begin together, once their processes are up
    host, port = settings.http_listen
    procs = [
        mp.Process(target=_send, args=(settings.smtp_listen[1], mails, args.mails_per_second, start_at, sent_q)),
        mp.Process(
            target=_read,
            args=(
                f"http://{host}:{port}/api/v1",
                token,
                args.requests_per_second,
                requests,
                args.in_flight,
                start_at,
                read_q,
            ),
        ),
    ]
    for p in procs:
        p.start()
    latencies, api_errors = await asyncio.to_thread(read_q.get, True, args.seconds + 120)
    parts = [await asyncio.to_thread(sent_q.get, True, 120) for _ in range(2)]
    sent_done = time.time() - start_at
    for p in procs:
        p.join(30)
    done = 0
    deadline = time.monotonic() + 120
    while done < sum(s for s, _ in parts) and time.monotonic() < deadline:
        async with kefu.db.reader() as s:
            done = (
                await s.execute(
                    select(func.count())
                    .select_from(InboundMessage)
                    .where(InboundMessage.status != InboundStatus.PENDING)
                )
            ).scalar_one()
        await asyncio.sleep(0.2)
    await started.stop()
    cut = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "api_errors": api_errors,
        "p50": cut[49] * 1e3,
        "p95": cut[94] * 1e3,
        "p99": cut[98] * 1e3,
        "max": max(latencies, default=0.0) * 1e3,
        "sent": sum(s for s, _ in parts),
        "smtp_errors": sum(e for _, e in parts),
        "sent_seconds": sent_done,
        "processed": done,
    }


async def _idle() -> None:
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mails-per-second", type=float, default=200.0)
    p.add_argument("--requests-per-second", type=float, default=50.0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--in-flight", type=int, default=8, help="most API requests open at once")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        r = asyncio.run(measure(args, Path(tmp)))
    print(
        f"intake: {r['sent']:.0f} mails sent in {r['sent_seconds']:.1f} s ({r['smtp_errors']:.0f} errors), "
        f"{r['processed']:.0f} processed",
        flush=True,
    )
    print(
        f"GET /api/v1/cases: {r['requests']:.0f} answered ({r['api_errors']:.0f} errors); latency ms "
        f"p50 {r['p50']:.1f}  p95 {r['p95']:.1f}  p99 {r['p99']:.1f}  max {r['max']:.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
