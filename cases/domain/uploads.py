"""Files staff upload (a letter's scan, a warranty part's test report, a signed service report):
the size limit and the safe name, shared by staff entries and the quality records."""

from __future__ import annotations

import re

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
_UNSAFE = re.compile(r"[^\w.\-() ]+")


def safe_filename(name: str) -> str:
    """The last path part, without control or path characters (`../../etc/passwd` -> `passwd`)."""
    base = re.split(r"[\\/]", name or "")[-1].strip().lstrip(".")
    return (_UNSAFE.sub("_", base)[:200] or "attachment").strip() or "attachment"
