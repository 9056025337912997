"""`kefu search reindex`: rebuild the full-text search index (cases/search/reindex.py)."""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from cases.search.reindex import reindex_all
from kefu.bootstrap import Kefu
from kefu.cli.common import with_kefu


class _Progress:
    """`kefu: search reindex: 40% (40000 of 100000 cases)`, a line each tenth and at the end."""

    def __init__(self) -> None:
        self.told = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent // 10 > self.told or done == total:
            self.told = percent // 10
            print(f"kefu: search reindex: {percent}% ({done} of {total} cases)", flush=True)


def cmd_search_reindex(args: argparse.Namespace) -> int:
    async def run(kefu: Kefu) -> int:
        return await reindex_all(kefu.db, _Progress(), batch=args.batch)

    started = time.monotonic()
    done = asyncio.run(with_kefu(run))
    print(f"kefu: search index rebuilt: {done} cases in {time.monotonic() - started:.1f} s")
    return 0


def add_search_commands(sub: Any) -> None:
    search = sub.add_parser("search", help="the full-text search index").add_subparsers(
        dest="search_command", required=True
    )
    reindex = search.add_parser("reindex", help="rebuild the index from every stored case, with progress")
    reindex.add_argument("--batch", type=int, default=2000, help="cases a transaction (default 2000)")
    reindex.set_defaults(fn=cmd_search_reindex)
