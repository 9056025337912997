"""Reading at scale: the case list, a search and a case's page over HTTP at a target rate, on a
database of 100,000 generated cases (bench/many_cases.py), optionally while mail streams in;
and the acknowledgement lag of that mail (issue 17, items 8 and 9).

    python -m bench.case_list [--cases 100000] [--rate 200] [--seconds 20]
                              [--mails-per-second 200] [--web-workers 0] [--database-url URL]

kefu runs as `kefu serve` would, in processes of its own: one process with every part, or, with
``--web-workers N``, one with SMTP intake and the workers (`kefu serve --only smtp,workers`)
beside N web processes (`kefu serve --only web`, each on its own port; the load generator
spreads its requests over them as a reverse proxy would). The load generator is a process of
its own and bounded: ``rate × seconds`` requests sent on schedule, at most ``--in-flight`` open;
a request's latency runs from when it was due to the end of its body, so time spent waiting
for a free slot counts (no coordinated omission). The requests cycle through four kinds:

  list      GET /cases?limit=50                         (first page, newest first, or --sort's order)
  filtered  GET /cases?state=…&department=…&limit=50    (first page of one state and department)
  search    GET /cases?q=<a Chinese or English word>
  detail    GET /cases/{reference}                       (a random generated case)

The mail (bench/corpus.py) goes in over SMTP at ``--mails-per-second`` during the same seconds;
afterwards the bench waits for every acknowledgement and reports the lag from each new case's
commit (its `created_at`, taken in the writing transaction) to its acknowledgement's
`sent_at` (written when the notice was delivered, here to `outgoing/*.eml`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.api_during_intake import _send
from bench.corpus import generate_corpus
from bench.many_cases import generate
from cases.store.db import Database, make_engine

KINDS = ("list", "filtered", "search", "detail")
SEARCH_WORDS = ("异响", "漏油", "刹车片", "brake", "oil leak", "3501", "焊点开裂", "warranty")
FILTERS = (("assigned", "quality"), ("analysed", "production_equipment"), ("new", None), ("closed", "sales"))


# --sort's API values as the console's list takes them (kefu/console/case_pages.py, SORTS)
CONSOLE_SORTS = {"received_at": "received", "updated_at": "updated", "customer_deadline": "deadline"}


def _sorted(sort: str | None, console: bool) -> str:
    """The list's sort as a query's first parameters ("" for the default order)."""
    if not sort:
        return ""
    if not console:
        return f"sort={sort}&"
    key = sort.lstrip("-")
    return f"sort={CONSOLE_SORTS.get(key, key)}&order={'desc' if sort.startswith('-') else 'asc'}&"


def _paths(kind: str, rng: random.Random, references: list[str], console: bool = False, sort: str | None = None) -> str:
    """The request of a kind: the API's (50 a page), or with `console` the staff console's pages
    (the list shows 50 a page; the case page renders the whole case); the lists in `sort`'s order."""
    page = ("/cases?" if console else "/cases?limit=50&") + _sorted(sort, console)
    if kind == "list":
        return page.rstrip("?&")
    if kind == "filtered":
        state, department = rng.choice(FILTERS)
        return f"{page}state={state}" + (f"&department={department}" if department else "")
    if kind == "search":
        from urllib.parse import quote

        return f"{page}q=" + quote(rng.choice(SEARCH_WORDS))
    return f"/cases/{rng.choice(references)}"


def _load(
    bases: list[str],
    headers: dict[str, str],
    console: bool,
    rate: float,
    count: int,
    in_flight: int,
    start_at: float,
    references: list[str],
    out: mp.Queue[dict[str, Any]],
    sort: str | None = None,
) -> None:
    import aiohttp

    rng = random.Random(7)
    plan = [
        (KINDS[i % len(KINDS)], _paths(KINDS[i % len(KINDS)], rng, references, console, sort)) for i in range(count)
    ]

    async def main() -> None:
        latencies: dict[str, list[float]] = {k: [] for k in KINDS}
        errors: dict[str, int] = dict.fromkeys(KINDS, 0)
        gate = asyncio.Semaphore(in_flight)
        finished = [0.0]

        async def one(http: aiohttp.ClientSession, i: int, due: float) -> None:
            kind, path = plan[i]
            async with gate:
                try:
                    # a redirect (to the sign-in page) is an error, not an answer
                    async with http.get(bases[i % len(bases)] + path, headers=headers, allow_redirects=False) as resp:
                        await resp.read()
                        ok = resp.status == 200
                except aiohttp.ClientError:
                    ok = False
            done = time.time()
            finished[0] = max(finished[0], done)
            if ok:
                latencies[kind].append(done - due)
            else:
                errors[kind] += 1

        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(connector=connector) as http:
            tasks = []
            for i in range(count):
                due = start_at + i / rate
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(http, i, due)))
            await asyncio.gather(*tasks)
        out.put({"latencies": latencies, "errors": errors, "seconds": finished[0] - start_at})

    asyncio.run(main())


def _env(folder: Path, url: str, smtp_port: int, http_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "KEFU_DATA_DIR": str(folder / "kefu"),
        "KEFU_DATABASE_URL": url,
        "KEFU_SECRET_KEY": "bench",
        "KEFU_MAIL_DOMAINS": "kefu.example",
        "KEFU_SMTP_LISTEN": f"127.0.0.1:{smtp_port}",
        "KEFU_HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "KEFU_AUTO_MAIL_PER_RECIPIENT_PER_DAY": str(10**6),
        "KEFU_LOG_LEVEL": "WARNING",
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), children not included."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_ready(port: int, proc: subprocess.Popen[bytes], seconds: float = 120.0) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench.case_list: kefu on port {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"bench.case_list: kefu on port {port} did not answer within {seconds:.0f} s")


def _cut(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {"n": len(values), "p50": q[49] * 1e3, "p95": q[94] * 1e3, "p99": q[98] * 1e3, "max": max(values) * 1e3}


async def _prepare(url: str, cases: int) -> tuple[list[str], float]:
    from cases.store.migrate import upgrade_async
    from cases.store.models import Case

    await upgrade_async(url)
    db = Database(make_engine(url))
    try:
        generated = await generate(db, cases)
        async with db.reader() as s:
            refs = list((await s.execute(select(Case.reference).order_by(Case.id))).scalars())
    finally:
        await db.dispose()
    return refs, generated.seconds


async def _references(url: str) -> list[str]:
    from cases.store.models import Case

    db = Database(make_engine(url))
    try:
        async with db.reader() as s:
            return list((await s.execute(select(Case.reference).order_by(Case.id))).scalars())
    finally:
        await db.dispose()


async def _headers(settings: Any, console: bool) -> dict[str, str]:
    """An approver's credentials (every case): a bearer token for the API, a signed-in session's
    cookie for the console."""
    from kefu.bootstrap import bootstrap
    from kefu.console.web import COOKIE

    kefu = bootstrap(settings)
    try:
        password = "bench-reader-password"
        await kefu.users.add("bench-reader", roles=["approver"], password=password)
        if console:
            signed = await kefu.console_auth.sign_in("bench-reader", password, "127.0.0.1")
            return {"Cookie": f"{COOKIE}={signed.token}"}
        return {"Authorization": f"Bearer {(await kefu.users.create_token('bench-reader')).token}"}
    finally:
        await kefu.db.dispose()


async def _ack_lag(url: str, first_new_id: int, sent: int, wait_seconds: float) -> dict[str, Any]:
    """Wait until every mail sent is processed and every new case has its acknowledgement
    written (or the wait ends), then the lags."""
    from cases.store.models import Case, Delivery, InboundMessage, InboundStatus

    db = Database(make_engine(url))
    lags: list[float] = []
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            async with db.reader() as s:
                processed = (
                    await s.execute(
                        select(func.count())
                        .select_from(InboundMessage)
                        .where(InboundMessage.status != InboundStatus.PENDING)
                    )
                ).scalar_one()
                new_cases = (
                    await s.execute(select(func.count()).select_from(Case).where(Case.id >= first_new_id))
                ).scalar_one()
                rows = (
                    await s.execute(
                        select(Case.created_at, func.min(Delivery.sent_at))
                        .join(Delivery, Delivery.case_id == Case.id)
                        .where(Case.id >= first_new_id, Delivery.audience == "customer", Delivery.sent_at.is_not(None))
                        .group_by(Case.id, Case.created_at)
                    )
                ).all()
            lags = [(acked - created).total_seconds() for created, acked in rows if acked is not None]
            if (processed >= sent and len(lags) >= new_cases) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    finally:
        await db.dispose()
    return {"cases": new_cases, "acknowledged": len(lags), **_cut(lags)}


def measure(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from cases.settings import Settings
    from tests.conftest import free_port

    url = args.database_url or f"sqlite+aiosqlite:///{folder / 'kefu' / 'kefu.sqlite3'}"
    (folder / "kefu").mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    database = folder / "kefu" / "kefu.sqlite3"
    if args.reuse is not None and args.database_url is None and args.reuse.exists():
        shutil.copyfile(args.reuse, database)
        references = asyncio.run(_references(url))
        print(f"bench.case_list: {len(references)} cases copied from {args.reuse}", flush=True)
    else:
        references, gen_seconds = asyncio.run(_prepare(url, args.cases))
        print(f"bench.case_list: {len(references)} cases generated in {gen_seconds:.1f} s", flush=True)
        if args.reuse is not None and args.database_url is None:
            shutil.copyfile(database, args.reuse)
    smtp_port, main_http = free_port(), free_port()
    settings = Settings.from_env(_env(folder, url, smtp_port, main_http))
    headers = asyncio.run(_headers(settings, args.console))
    kefu_cmd = [sys.executable, "-m", "kefu", "serve"]
    procs: list[subprocess.Popen[bytes]] = []
    log = open(folder / "kefu.log", "wb")  # noqa: SIM115  (open for the processes' lifetime)
    try:
        if args.web_workers:
            main = subprocess.Popen(
                [*kefu_cmd, "--only", "smtp,workers,web"],
                env=_env(folder, url, smtp_port, main_http),
                stdout=log,
                stderr=log,
            )
            procs.append(main)
            _wait_ready(main_http, main)
            web_ports = [free_port() for _ in range(args.web_workers)]
            for port in web_ports:
                procs.append(
                    subprocess.Popen(
                        [*kefu_cmd, "--only", "web"], env=_env(folder, url, free_port(), port), stdout=log, stderr=log
                    )
                )
            for port, proc in zip(web_ports, procs[1:], strict=True):
                _wait_ready(port, proc)
        else:
            main = subprocess.Popen(kefu_cmd, env=_env(folder, url, smtp_port, main_http), stdout=log, stderr=log)
            procs.append(main)
            _wait_ready(main_http, main)
            web_ports = [main_http]
        time.sleep(2.0)  # the parse workers warm up
        count = int(args.rate * args.seconds)
        mails_total = int(args.mails_per_second * args.seconds)
        mails = [(m.sender, m.recipients, m.data) for m in generate_corpus(mails_total)] if mails_total else []
        start_at = time.time() + 1.0
        load_q: mp.Queue[dict[str, Any]] = mp.Queue()
        sent_q: mp.Queue[tuple[int, int]] = mp.Queue()
        bases = [f"http://127.0.0.1:{p}" + ("" if args.console else "/api/v1") for p in web_ports]
        workers = [
            mp.Process(
                target=_load,
                args=(
                    bases,
                    headers,
                    args.console,
                    args.rate,
                    count,
                    args.in_flight,
                    start_at,
                    references,
                    load_q,
                    args.sort,
                ),
            )
        ]
        if mails:
            workers.append(mp.Process(target=_send, args=(smtp_port, mails, args.mails_per_second, start_at, sent_q)))
        for w in workers:
            w.start()
        # The web processes' CPU over the load: what a request costs whatever else the machine
        # runs (wall-clock latency on a shared machine depends on that too).
        web_pids = [p.pid for p in procs[1:]] if args.web_workers else [procs[0].pid]
        cpu_before = sum(_cpu_seconds(pid) for pid in web_pids)
        load = load_q.get(True, args.seconds + 300)
        cpu_web = sum(_cpu_seconds(pid) for pid in web_pids) - cpu_before
        sent = [sent_q.get(True, 300) for _ in range(2)] if mails else [(0, 0)]
        for w in workers:
            w.join(30)
        acks = asyncio.run(
            _ack_lag(url, len(references) + 1, sum(s for s, _ in sent), args.ack_wait) if mails else _nothing()
        )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
    answered = sum(len(v) for v in load["latencies"].values())
    return {
        "requests": count,
        "answered": answered,
        "errors": sum(load["errors"].values()),
        "achieved": answered / load["seconds"] if load["seconds"] > 0 else 0.0,
        "kinds": {k: {**_cut(v), "errors": load["errors"][k]} for k, v in load["latencies"].items()},
        "all": _cut([x for v in load["latencies"].values() for x in v]),
        "mails_sent": sum(s for s, _ in sent),
        "smtp_errors": sum(e for _, e in sent),
        "acks": acks,
        "seconds": time.monotonic() - started,
        "cpu_ms_per_request": cpu_web * 1e3 / answered if answered else 0.0,
        "load": os.getloadavg()[0],
    }


async def _nothing() -> dict[str, Any]:
    return {}


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    how = f"{args.web_workers} web processes beside the main one" if args.web_workers else "one kefu process"
    how += "; the console's pages" if args.console else "; the API"
    how += f"; lists sorted by {args.sort}" if args.sort else ""
    print(
        f"bench.case_list: {args.cases} cases, {how}; {r['requests']} requests at {args.rate:.0f}/s "
        f"for {args.seconds:.0f} s (at most {args.in_flight} open), mail at {args.mails_per_second:.0f}/s",
        flush=True,
    )
    print(f"  answered {r['answered']} ({r['errors']} errors), achieved {r['achieved']:.0f} req/s")
    whose = "the web processes'" if args.web_workers else "kefu's (intake included)"
    print(
        f"  CPU per request, {whose}: {r['cpu_ms_per_request']:.1f} ms; machine load average "
        f"{r['load']:.1f} on {os.cpu_count()} cores"
    )
    print(f"  {'kind':<9} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, c in [*r["kinds"].items(), ("all", r["all"])]:
        print(f"  {kind:<9} {c['n']:>6} {c['p50']:>8.1f} {c['p95']:>8.1f} {c['p99']:>8.1f} {c['max']:>8.1f}")
    if args.mails_per_second:
        a = r["acks"]
        print(f"  intake: {r['mails_sent']} mails sent ({r['smtp_errors']} errors), {a['cases']} new cases")
        print(
            f"  acknowledgement lag (commit to sent): {a['acknowledged']} of {a['cases']} acknowledged; "
            f"s p50 {a['p50'] / 1e3:.2f}  p95 {a['p95'] / 1e3:.2f}  p99 {a['p99'] / 1e3:.2f}  max {a['max'] / 1e3:.2f}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=100_000)
    p.add_argument("--rate", type=float, default=200.0, help="requests a second (all kinds together)")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--in-flight", type=int, default=32, help="most requests open at once")
    p.add_argument("--mails-per-second", type=float, default=200.0, help="0: no mail while reading")
    p.add_argument("--console", action="store_true", help="the staff console's pages instead of the API")
    p.add_argument(
        "--sort",
        help="the lists' order, as the API's sort (e.g. -customer_deadline, severity, -state); default newest first",
    )
    p.add_argument("--web-workers", type=int, default=0, help="web processes (kefu serve --only web) beside the main")
    p.add_argument("--ack-wait", type=float, default=180.0, help="most seconds to wait for the acknowledgements")
    p.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    p.add_argument(
        "--reuse",
        type=Path,
        help="SQLite: copy the generated database from this file if it exists, else save it there (saves the "
        "generation between runs; the same --cases)",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="kefu-bench-", ignore_cleanup_errors=True) as tmp:
        r = measure(args, Path(tmp))
        report(args, r)


if __name__ == "__main__":
    main()
