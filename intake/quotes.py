"""What the sender wrote now: the text above the quoted part of a reply.

Satisfaction replies are read from this text only. The quoted request we sent contains the
very words we look for ("满意", "不满意", scores), so a quote left in would rate itself.
Clients mark the quote in different ways; each pattern below names the client it is for.
"""

from __future__ import annotations

import re

# A line that opens the quoted part by itself.
_SEPARATOR = re.compile(
    r"[ \t]*-{2,}[ \t]*(?:原始邮件|原邮件|original message)[ \t]*-{2,}[ \t]*$"  # Foxmail, QQ Mail, Outlook
    r"|[ \t]*_{10,}[ \t]*$",  # Outlook's rule above its header block
    re.IGNORECASE,
)
# Attribution lines: "在 2026年11月20日 ... 写道：", "张三 <a@b> 于2026年11月20日 写道：" (Gmail
# zh-CN), "On Fri, 20 Nov 2026, Zhang <a@b> wrote:" (Gmail, Apple Mail, Thunderbird).
_WROTE_END = re.compile(r"(?:写道|wrote)[ \t]*[:：][ \t]*$", re.IGNORECASE)  # use .search
_WROTE_START = re.compile(r"[ \t]*(?:on\b|在|于)", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
# Outlook / Foxmail header blocks: "From:" / "发件人:" followed by "Sent:" / "发送时间:" etc.
_FROM = re.compile(r"[ \t]*\*?(?:from|发件人|寄件者)\*?[ \t]*[:：]", re.IGNORECASE)
_HEADER = re.compile(
    r"[ \t]*\*?(?:sent|date|to|cc|subject|发送时间|日期|时间|收件人|抄送|主题|寄件日期|收件者)\*?[ \t]*[:：]",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[ \t]*>")
_SIGNATURE = re.compile(r"-- ?$")  # RFC 3676 section 4.3 signature separator
_MOBILE_FOOTER = re.compile(r"\s*(?:发自我的|来自我的|sent from my|get outlook for|从我的.{0,20}发送)", re.IGNORECASE)
_RULE = re.compile(r"[ \t]*(?:_{5,}|-{5,}|={5,})[ \t]*$")


def new_text(text: str) -> str:
    """Return only what the sender wrote above the quoted part, without signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = 0
    while True:
        cut, attribution = _find_cut(lines, start)
        kept = _trim([line for line in lines[start:cut] if not _QUOTED.match(line)])
        if kept or not attribution:
            return "\n".join(kept)
        # Bottom-posting: "On ... wrote:", then "> quoted", then the answer. Read on after
        # the attribution; the quoted lines are dropped above.
        start = cut + (2 if not _WROTE_END.search(lines[cut]) else 1)


def _find_cut(lines: list[str], start: int) -> tuple[int, bool]:
    """Index of the first line of the quoted part (len(lines) if none); True for attributions."""
    for i in range(start, len(lines)):
        line = lines[i]
        if not line or line[0] == ">":
            continue
        if _SEPARATOR.match(line):
            return i, False
        if _WROTE_END.search(line):
            if (_WROTE_START.match(line) or "于" in line) and _DIGIT.search(line):
                return i, True
            previous = lines[i - 1] if i > start else ""
            if _WROTE_START.match(previous) and _DIGIT.search(previous):  # wrapped over two lines
                return i - 1, True
            if _DIGIT.search(line) and "@" in line:
                return i, True
        elif _WROTE_START.match(line) and i + 1 < len(lines) and _wrapped_attribution(line, lines[i + 1]):
            return i, True
        if _FROM.match(line) and any(_HEADER.match(n) for n in lines[i + 1 : i + 5]):
            return i, False
    return len(lines), False


def _wrapped_attribution(line: str, following: str) -> bool:
    return bool(_WROTE_END.search(following) and not _WROTE_START.match(following) and _DIGIT.search(line))


def _trim(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line):
            lines = lines[:i]
            break
    lines = [line.rstrip() for line in lines]
    while lines and (not lines[-1] or _RULE.match(lines[-1]) or _MOBILE_FOOTER.match(lines[-1])):
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines
