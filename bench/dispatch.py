"""The notification dispatcher alone: notices per second and CPU milliseconds per notice.

Builds a database the way intake does (generated mails stored through the inbox, then the
processor drains them into committed cases), then times ``Dispatcher.run_once`` until nothing
is left: fan-out, render, compose, write .eml files. CPU time is ``process_time`` (every thread
of this process, the database thread included), so it does not depend on how busy the
machine is the way wall time does.

    python -m bench.dispatch [--messages 2000] [--database-url URL] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select


@dataclass(frozen=True, slots=True)
class DispatchFigures:
    attempted: int  # deliveries run_once reported
    sent: int  # deliveries in status sent afterwards
    by_status: dict[str, int]
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.sent / self.wall if self.wall else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu / self.sent if self.sent else 0.0


async def dispatch_all(kefu: object, profile: Path | None = None) -> DispatchFigures:
    """Run the dispatcher of a bootstrapped ``kefu`` until it has nothing left; time it."""
    from cases.store.models import Delivery

    dispatcher = kefu.dispatcher  # type: ignore[attr-defined]
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    cpu0, t0 = time.process_time(), time.perf_counter()
    attempted = 0
    while n := await dispatcher.run_once():
        attempted += n
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    async with kefu.db.reader() as s:  # type: ignore[attr-defined]
        rows = (await s.execute(select(Delivery.status, func.count()).group_by(Delivery.status))).all()
    by_status = {status: count for status, count in rows}
    return DispatchFigures(attempted, by_status.get("sent", 0), by_status, wall, cpu)


async def committed_cases(folder: Path, messages: int, database_url: str | None = None) -> object:
    """A bootstrapped kefu whose database holds the cases (and pending events) of the corpus."""
    from bench.processor import stored_corpus

    kefu = await stored_corpus(folder, messages, database_url)
    await kefu.processor.drain()
    return kefu


async def measure(messages: int, database_url: str | None, profile: Path | None) -> DispatchFigures:
    with tempfile.TemporaryDirectory(prefix="kefu-bench-dispatch-") as tmp:
        kefu = await committed_cases(Path(tmp), messages, database_url)
        try:
            return await dispatch_all(kefu, profile)
        finally:
            kefu.processor.pool.close()  # type: ignore[attr-defined]
            await kefu.db.dispose()  # type: ignore[attr-defined]


def report(f: DispatchFigures) -> str:
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(Counter(f.by_status).items()))
    return (
        f"  {f.sent} notices sent in {f.wall:.2f} s: {f.rate:.0f} notices/s, "
        f"{f.cpu_ms:.2f} ms CPU per notice ({f.attempted} deliveries attempted; {statuses})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    p.add_argument("--profile", type=Path, help="write a cProfile of the dispatch to this file")
    args = p.parse_args()
    print(f"kefu dispatch bench: cases from {args.messages} generated mails ...", flush=True)
    print(report(asyncio.run(measure(args.messages, args.database_url, args.profile))), flush=True)


if __name__ == "__main__":
    main()
