"""The intake processor alone: stored mail to committed cases, without SMTP.

Stores the generated corpus through the inbox (as SMTP intake would), starts the parse
workers, then times ``MailProcessor.drain`` until nothing is pending. Prints mails per second,
the CPU per mail of kefu's process (``process_time``: every thread, the database's included)
and of the parse workers, and the SQL statements per mail. CPU time does not depend on how
busy the machine is the way wall time does, so this is the figure to compare before and after
a change to the processor or the case service; ``make bench`` shows the same parts under the
full load of SMTP.

    python -m bench.processor [--messages 2000] [--parse-workers N] [--runs 3] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import event

from bench.corpus import generate_corpus
from cases.domain.enums import Channel
from cases.settings import Settings


@dataclass(frozen=True, slots=True)
class ProcessorFigures:
    processed: int
    quarantined: int
    wall: float
    main_cpu: float  # seconds, kefu's process
    worker_cpu: float  # seconds, all parse workers
    statements: int

    @property
    def rate(self) -> float:
        return self.processed / self.wall if self.wall else 0.0

    def per_mail_ms(self, seconds: float) -> float:
        return 1000 * seconds / self.processed if self.processed else 0.0


async def stored_corpus(folder: Path, messages: int, database_url: str | None = None, parse_workers: int = 0) -> Any:
    """A bootstrapped kefu whose inbox holds the corpus as pending raw mail, nothing processed."""
    from cases.services.users import seed_departments
    from cases.store.migrate import upgrade_async
    from intake.inbox import RawInput
    from intake.mailkey import dedupe_key
    from kefu.bootstrap import bootstrap

    settings = Settings(
        data_dir=folder / "kefu",
        secret_key="bench",
        mail_domains=("kefu.example",),
        database_url=database_url or "",
        auto_mail_per_recipient_per_day=10**6,
        parse_workers=parse_workers,
    )
    await upgrade_async(settings.sqlalchemy_url)
    kefu = bootstrap(settings, poll_seconds=0.5)
    await seed_departments(kefu.db)
    await kefu.inbox.start()
    try:
        corpus = generate_corpus(messages)
        for start in range(0, len(corpus), 200):  # concurrent puts: the inbox's group commit
            await asyncio.gather(
                *(
                    kefu.inbox.put(
                        RawInput(
                            channel=Channel.EMAIL,
                            dedupe_key=key,
                            raw=m.data,
                            message_id=message_id,
                            envelope_from=m.sender,
                            envelope_to=m.recipients,
                        )
                    )
                    for m in corpus[start : start + 200]
                    for message_id, key in [dedupe_key(m.data)]
                )
            )
    finally:
        await kefu.inbox.stop()
    return kefu


async def drain_timed(kefu: Any, profile: Path | None = None) -> ProcessorFigures:
    """Warm the parse workers up, then drain the inbox; what it cost."""
    pool = kefu.processor.pool
    await asyncio.gather(*(asyncio.wrap_future(f) for f in pool.warm_up()))
    workers = [psutil.Process(pid) for pid in pool.pids()]

    def worker_cpu() -> float:
        return sum(t.user + t.system for t in (w.cpu_times() for w in workers))

    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    engine = kefu.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, workers0, t0 = time.process_time(), worker_cpu(), time.perf_counter()
    result = await kefu.processor.drain()
    wall, cpu, wcpu = time.perf_counter() - t0, time.process_time() - cpu0, worker_cpu() - workers0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    event.remove(engine, "before_cursor_execute", count)
    return ProcessorFigures(result.processed, result.quarantined, wall, cpu, wcpu, statements)


async def measure(
    messages: int, database_url: str | None, parse_workers: int, profile: Path | None
) -> ProcessorFigures:
    with tempfile.TemporaryDirectory(prefix="kefu-bench-processor-") as tmp:
        kefu = await stored_corpus(Path(tmp), messages, database_url, parse_workers)
        try:
            return await drain_timed(kefu, profile)
        finally:
            kefu.processor.pool.close()
            await kefu.db.dispose()


def report(f: ProcessorFigures) -> str:
    return (
        f"  {f.processed} mails in {f.wall:.2f} s: {f.rate:.0f} mails/s, {f.quarantined} quarantined; "
        f"CPU per mail: kefu process {f.per_mail_ms(f.main_cpu):.3f} ms, parse workers "
        f"{f.per_mail_ms(f.worker_cpu):.3f} ms; {f.statements / max(f.processed, 1):.2f} SQL statements per mail"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--database-url", help="default: a SQLite file in a temporary folder (an empty database)")
    p.add_argument(
        "--parse-workers",
        type=int,
        default=Settings.from_env({}).parse_workers,
        help="parse worker processes (default as kefu serve; 0 parses in kefu's process)",
    )
    p.add_argument("--runs", type=int, default=3, help="repeat on a fresh database; prints each, then the median")
    p.add_argument("--profile", type=Path, help="write a cProfile of the (last) drain to this file")
    args = p.parse_args()
    if args.runs > 1 and args.database_url:
        p.error("--runs needs an empty database per run: use it without --database-url")
    print(
        f"kefu processor bench: {args.messages} generated mails stored, then drained "
        f"({args.parse_workers} parse worker(s)) ...",
        flush=True,
    )
    runs = []
    for _ in range(args.runs):
        runs.append(asyncio.run(measure(args.messages, args.database_url, args.parse_workers, args.profile)))
        print(report(runs[-1]), flush=True)
    if len(runs) > 1:
        main_ms = sorted(r.per_mail_ms(r.main_cpu) for r in runs)
        rates = sorted(r.rate for r in runs)
        print(
            f"median of {len(runs)}: {statistics.median(rates):.0f} mails/s ({rates[0]:.0f}-{rates[-1]:.0f}), "
            f"kefu process {statistics.median(main_ms):.3f} ms CPU per mail "
            f"({main_ms[0]:.3f}-{main_ms[-1]:.3f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
