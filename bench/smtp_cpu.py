"""CPU seconds of the kefu process per mail for SMTP + raw store only (the processor is
stopped), with kefu's chunked DATA reader and with aiosmtpd's line-by-line one, alternated in
one run. process_time counts every thread of this process (the server and its database
thread); the SMTP clients run in other processes. More stable than wall time on a busy machine.

    python -m bench.smtp_cpu [--messages 2000] [--clients 2] [--rounds 2] [--client pipelining|smtplib]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP
from sqlalchemy import func, select

from bench.corpus import generate_corpus
from bench.ingest import _client, _idle, _say
from intake.smtp_data import ChunkedDataSMTP


async def smtp_and_store(
    items: list[tuple[str, tuple[str, ...], bytes]], folder: Path, clients: int, client: str = "pipelining"
) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per mail until every mail is stored."""
    from cases.services.users import seed_departments
    from cases.settings import Settings
    from cases.store.migrate import upgrade_async
    from cases.store.models import InboundMessage
    from kefu.bootstrap import bootstrap
    from kefu.parts import Part, start
    from tests.conftest import free_port

    settings = Settings(
        data_dir=folder,
        secret_key="bench",
        mail_domains=("kefu.example",),
        smtp_listen=("127.0.0.1", free_port()),
        parse_workers=0,
    )
    await upgrade_async(settings.sqlalchemy_url)
    kefu = bootstrap(settings, poll_seconds=0.5)
    await seed_departments(kefu.db)
    kefu.dispatcher.run = _idle  # type: ignore[method-assign]
    started = await start(kefu, {Part.SMTP})  # SMTP and the inbox only: no processor
    errors: mp.Queue[str] = mp.Queue()
    workers = [
        mp.Process(target=_client, args=(settings.smtp_listen[1], items[i::clients], errors, client))
        for i in range(clients)
    ]
    cpu0, t0 = time.process_time(), time.perf_counter()
    for w in workers:
        w.start()
    stored = 0
    while stored < len(items) and time.perf_counter() - t0 < 300:
        await asyncio.sleep(0.25)
        async with kefu.db.reader() as s:
            stored = (await s.execute(select(func.count()).select_from(InboundMessage))).scalar_one()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    for w in workers:
        w.join(30)
    await started.stop()
    if stored < len(items) or not errors.empty():
        _say(f"  only {stored} of {len(items)} stored; client errors: {not errors.empty()}")
    return cpu / len(items), wall / len(items)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--clients", type=int, default=2, help="client processes (4 connections each)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument(
        "--client",
        choices=["pipelining", "smtplib"],
        default="pipelining",
        help="the senders (as in bench.ingest); BDAT would not use the DATA readers compared here",
    )
    args = p.parse_args()
    corpus = generate_corpus(args.messages)
    items = [(m.sender, m.recipients, m.data) for m in corpus]
    size = sum(len(m.data) for m in corpus)
    _say(f"kefu smtp_cpu: {len(items)} mails, {size / len(items) / 1024:.1f} KiB average")
    chunked = ChunkedDataSMTP.smtp_DATA
    for n in range(args.rounds):
        for name, data_method in (("aiosmtpd line by line", SMTP.smtp_DATA), ("kefu chunked", chunked)):
            ChunkedDataSMTP.smtp_DATA = data_method  # type: ignore[method-assign]
            with tempfile.TemporaryDirectory(prefix="kefu-smtp-cpu-") as tmp:
                cpu, wall = asyncio.run(smtp_and_store(items, Path(tmp), args.clients, args.client))
            _say(f"  round {n + 1} {name:22s}: {cpu * 1e3:6.3f} ms CPU/mail, {wall * 1e3:6.3f} ms wall/mail")
    ChunkedDataSMTP.smtp_DATA = chunked  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
