"""`make bench`: messages per second from SMTP session to committed case, beside two references
measured in the same run on the same corpus: parsing alone, and a bare insert with one durable
commit per message. Prints figures; never fails on a slow machine.

    python -m bench.ingest [--messages 2000] [--clients 4] [--runs 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import smtplib
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import psutil
from sqlalchemy import func, select

from bench.corpus import CorpusMessage, generate_corpus
from bench.smtp_client import PipeliningSender, crlf, stuffed
from cases.settings import Settings


def _say(text: str) -> None:
    print(text, flush=True)


def parse_only(corpus: list[CorpusMessage]) -> float:
    from intake.mailparse import parse_mail

    start = time.perf_counter()
    for m in corpus:
        parse_mail(m.data)
    return len(corpus) / (time.perf_counter() - start)


def bare_insert(corpus: list[CorpusMessage], folder: Path) -> float:
    """The floor of durability: one INSERT and one fsync'd commit per message (SQLite, WAL, FULL)."""
    conn = sqlite3.connect(folder / "bare.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
    start = time.perf_counter()
    for m in corpus:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO raw (data) VALUES (?)", (m.data,))
        conn.execute("COMMIT")
    rate = len(corpus) / (time.perf_counter() - start)
    conn.close()
    return rate


def _client(port: int, chunk: list[tuple[str, tuple[str, ...], bytes]], errors: mp.Queue[str], kind: str) -> None:
    def run_smtplib(part: list[tuple[str, tuple[str, ...], bytes]]) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as c:
            for sender, rcpts, data in part:
                c.sendmail(sender, list(rcpts), data)

    def run_lean(part: list[tuple[str, tuple[str, ...], bytes]]) -> None:
        c = PipeliningSender("127.0.0.1", port)
        for sender, rcpts, data in part:
            if kind == "bdat":
                c.send_chunked(sender, rcpts, crlf(data))
            else:
                c.send(sender, rcpts, stuffed(data))
        c.close()

    def run(part: list[tuple[str, tuple[str, ...], bytes]]) -> None:
        try:
            (run_smtplib if kind == "smtplib" else run_lean)(part)
        except Exception as exc:  # reported, not raised: the bench prints what happened
            errors.put(repr(exc))

    threads = [threading.Thread(target=run, args=(chunk[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


async def pipeline(
    corpus: list[CorpusMessage],
    folder: Path,
    clients: int,
    database_url: str | None,
    parse_workers: int = 0,
    client: str = "pipelining",
) -> dict[str, float]:
    from cases.services.users import seed_departments
    from cases.settings import Settings
    from cases.store.migrate import upgrade_async
    from cases.store.models import InboundMessage
    from kefu.bootstrap import bootstrap
    from kefu.parts import ALL, Part, start
    from tests.conftest import free_port

    settings = Settings(
        data_dir=folder / "kefu",
        secret_key="bench",
        mail_domains=("kefu.example",),
        smtp_listen=("127.0.0.1", free_port()),
        database_url=database_url or "",
        auto_mail_per_recipient_per_day=10**6,
        parse_workers=parse_workers,
    )
    await upgrade_async(settings.sqlalchemy_url)
    kefu = bootstrap(settings, poll_seconds=0.5)
    await seed_departments(kefu.db)
    # The dispatcher is measured on its own below: intake is what the SMTP sender waits for.
    kefu.dispatcher.run = _idle  # type: ignore[method-assign]
    started = await start(kefu, ALL - {Part.WEB})
    # As in a running service, the parse workers are up before the first mail arrives.
    await asyncio.gather(*(asyncio.wrap_future(f) for f in kefu.processor.pool.warm_up()))
    proc = psutil.Process()
    rss_start = proc.memory_info().rss
    items = [(m.sender, m.recipients, m.data) for m in corpus]
    errors: mp.Queue[str] = mp.Queue()
    workers = [
        mp.Process(target=_client, args=(settings.smtp_listen[1], items[i::clients], errors, client))
        for i in range(clients)
    ]

    def cpu_now() -> dict[str, float]:
        return {"main": _cpu(proc.pid), "parse": sum(_cpu(pid) for pid in kefu.processor.pool.pids())}

    cpu_start = cpu_now()
    children_start = _children_cpu()
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    rss_peak = rss_start
    done = 0
    sent_at = None  # when the last client had its last 250
    while done < len(corpus):
        await asyncio.sleep(0.1)
        if sent_at is None and not any(w.is_alive() for w in workers):
            sent_at = time.perf_counter() - t0
        async with kefu.db.reader() as s:
            done = (
                await s.execute(
                    select(func.count()).select_from(InboundMessage).where(InboundMessage.status != "pending")
                )
            ).scalar_one()
        rss_peak = max(rss_peak, proc.memory_info().rss)
        if time.perf_counter() - t0 > 600:
            _say(f"  gave up after 600 s with {done} of {len(corpus)} processed")
            break
    elapsed = time.perf_counter() - t0
    cpu = {part: seconds - cpu_start[part] for part, seconds in cpu_now().items()}
    for w in workers:
        w.join(30)
    cpu["clients"] = _children_cpu() - children_start  # the client processes, reaped by now
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    async with kefu.db.reader() as s:
        from cases.store.models import Case

        cases = (await s.execute(select(func.count()).select_from(Case))).scalar_one()
        quarantined = (
            await s.execute(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "quarantined")
            )
        ).scalar_one()
        if quarantined:  # a bench run quarantines nothing: say why, for whoever reads the figures
            why = await s.execute(select(InboundMessage.reason).where(InboundMessage.status == "quarantined").limit(5))
            for reason in why.scalars():
                print(f"quarantined: {(reason or '')[:300]}", flush=True)
    await started.stop()
    # Now the notifications those cases caused: fan-out, render, compose, write .eml files.
    from bench.dispatch import dispatch_all

    kefu2 = bootstrap(settings, poll_seconds=0.5)
    dispatched = await dispatch_all(kefu2)  # bench/dispatch.py measures it on its own, too
    sent, dispatch_elapsed = dispatched.attempted, dispatched.wall
    await kefu2.db.dispose()
    return {
        "rate": done / elapsed,
        "elapsed": elapsed,
        "sent_at": sent_at or elapsed,
        "processed": done,
        "cases": cases,
        "quarantined": quarantined,
        "client_errors": len(failures),
        "rss_start_mb": rss_start / 2**20,
        "rss_peak_mb": rss_peak / 2**20,
        "dispatch_rate": sent / dispatch_elapsed if dispatch_elapsed else 0.0,
        "sent": sent,
        "dispatch_cpu_ms": dispatched.cpu_ms,
        **{f"cpu_{k}_ms": v * 1e3 / max(done, 1) for k, v in cpu.items()},
    }


def _cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of a live process; 0 if it is gone."""
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(t.user + t.system)


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def _idle() -> None:
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--clients", type=int, default=4, help="client processes (each with 4 SMTP connections)")
    p.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    p.add_argument(
        "--parse-workers",
        type=int,
        default=Settings.from_env({}).parse_workers,
        help="parse worker processes (default as kefu serve: one less than the cores, at most 4)",
    )
    p.add_argument(
        "--client",
        choices=["pipelining", "bdat", "smtplib"],
        default="pipelining",
        help="the senders: a lean client that pipelines MAIL, RCPT and DATA as mail servers do "
        "(RFC 2920); the same sending each mail with its envelope as BDAT LAST (RFC 3030, "
        "as Exchange Online does); or Python's smtplib, which waits for each reply",
    )
    p.add_argument(
        "--runs",
        type=int,
        default=1,
        help="repeat the three measurements; prints each run, then the median and range "
        "(SQLite only: every run needs an empty database)",
    )
    args = p.parse_args()
    if args.runs > 1 and args.database_url:
        p.error("--runs needs an empty database per run: use it without --database-url")
    _say(f"kefu bench: generating {args.messages} messages (Chinese and English, replies, attachments) ...")
    corpus = generate_corpus(args.messages)
    size = sum(len(m.data) for m in corpus)
    _say(f"  corpus: {len(corpus)} messages, {size / 2**20:.1f} MiB")
    results = []
    for n in range(1, args.runs + 1):
        if args.runs > 1:
            _say(f"\n-- run {n} of {args.runs}")
        results.append(_run(args, corpus))
    if args.runs > 1:
        _say(f"\n{args.runs} runs, median (lowest-highest):")
        for key, label, form in (
            ("parse", "parse only", ".0f"),
            ("bare", "bare insert", ".0f"),
            ("rate", "SMTP session to committed case", ".0f"),
            ("parse_ratio", "ratio pipeline / parse-only", ".2f"),
            ("bare_ratio", "ratio pipeline / bare insert", ".2f"),
            ("pipeline_cpu", "pipeline CPU per mail, ms", ".2f"),
        ):
            values = sorted(r[key] for r in results)
            _say(f"  {label:31s} {statistics.median(values):{form}}  ({values[0]:{form}}-{values[-1]:{form}})")


def _run(args: argparse.Namespace, corpus: list[CorpusMessage]) -> dict[str, float]:
    """One run of the three measurements, printed as it goes; its rates and ratios."""
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        folder = Path(tmp)
        _say("1/3 parse only (intake.mailparse.parse_mail) ...")
        parse_rate = parse_only(corpus)
        _say(f"  {parse_rate:8.0f} msg/s")
        _say("2/3 bare insert, one durable commit per message (SQLite WAL, synchronous=FULL) ...")
        bare_rate = bare_insert(corpus, folder)
        _say(f"  {bare_rate:8.0f} msg/s")
        _say(
            f"3/3 SMTP session to committed case ({args.clients * 4} concurrent SMTP connections, "
            f"{args.client} senders, {args.parse_workers} parse worker(s)) ..."
        )
        r = asyncio.run(pipeline(corpus, folder, args.clients, args.database_url, args.parse_workers, args.client))
        _say(
            f"  {r['rate']:8.0f} msg/s  ({r['processed']:.0f} messages in {r['elapsed']:.1f} s: "
            f"{r['cases']:.0f} cases, {r['quarantined']:.0f} quarantined, {r['client_errors']:.0f} client errors)"
        )
        _say(
            f"  the senders had their last 250 after {r['sent_at']:.1f} s, the last case was committed "
            f"after {r['elapsed']:.1f} s"
        )
        _say(f"  memory: {r['rss_start_mb']:.0f} MiB at start, {r['rss_peak_mb']:.0f} MiB peak")
        parts = {
            "kefu main process (SMTP, writing)": r["cpu_main_ms"],
            "parse workers": r["cpu_parse_ms"],
            f"SMTP clients ({args.client})": r["cpu_clients_ms"],
        }
        total = sum(parts.values())
        cores = os.cpu_count() or 1
        _say(
            "  CPU per mail: "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in parts.items() if ms)
            + f"; {total:.2f} ms in all"
        )
        _say(
            f"  the pipeline's CPU per mail (kefu's processes, not the clients): "
            f"{r['cpu_main_ms'] + r['cpu_parse_ms']:.2f} ms"
        )
        _say(
            f"  on {cores} cores that allows at most {cores * 1e3 / total:.0f} msg/s; "
            f"the target needs at most {cores * 2e3 / parse_rate:.2f} ms a mail in all "
            f"(parsing alone is {1e3 / parse_rate:.2f} ms)"
        )
        _say(
            f"  notifications afterwards: {r['sent']:.0f} sent at {r['dispatch_rate']:.0f} msg/s (written as .eml, "
            f"{r['dispatch_cpu_ms']:.1f} ms CPU per notice)"
        )
        _say("")
        _say(f"ratio pipeline / parse-only : {r['rate'] / parse_rate:6.2f}   (target >= 0.50)")
        _say(f"ratio pipeline / bare insert: {r['rate'] / bare_rate:6.2f}")
    return {
        "parse": parse_rate,
        "bare": bare_rate,
        "rate": r["rate"],
        "parse_ratio": r["rate"] / parse_rate,
        "bare_ratio": r["rate"] / bare_rate,
        "pipeline_cpu": r["cpu_main_ms"] + r["cpu_parse_ms"],
    }


if __name__ == "__main__":
    main()
