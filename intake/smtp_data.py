"""SMTP DATA read in large chunks instead of one line at a time.

aiosmtpd 1.4.6 reads DATA with ``readuntil(b'\\r\\n')`` per line, logs each line and joins
fragments per line: the biggest CPU cost of an SMTP session (~160 lines for a 10 KB mail), and
the whole server runs on one event loop. ``ChunkedDataSMTP.smtp_DATA`` reads up to the
terminator ``CRLF.CRLF`` in a few reads and checks the lines with bytes operations, with the
same replies and the same results as aiosmtpd's (tests/test_smtp_data.py runs both on the same
bytes):

- RFC 5321 4.1.1.4: the DATA ends at the first line that is a lone dot; bytes after it are the
  next command (PIPELINING) and are never consumed here.
- RFC 5321 4.5.2: a leading dot of a line is removed.
- too much data -> ``552``, a line longer than ``line_length_limit`` (RFC 5321 4.5.3.1.6) ->
  ``500``, both only after the terminator (RFC 5321 4.2.5); which one wins is decided by the
  first offending line, in aiosmtpd's order (see ``_LineCheck``).

And it takes ``BDAT`` (CHUNKING, RFC 3030), as Exchange Online and other large senders send
when it is offered: the message in chunks of a stated size, with no dot-stuffing and no
terminator, so a whole mail can come in the same packet as its MAIL and RCPT, and the session
needs one round trip a mail instead of two. A chunk is always read to its end, also when the
command is refused, so its bytes are never taken for commands.
"""

from __future__ import annotations

import asyncio
import logging
from warnings import warn

from aiosmtpd.smtp import MISSING, SMTP, syntax

from intake.smtp_addr import simple_path

log = logging.getLogger(__name__)

TERMINATOR = b"\r\n.\r\n"
TOO_LONG = "500 Line too long (see RFC5321 4.5.3.1.6)"
TOO_MUCH = "552 Error: Too much mail data"
BDAT_SYNTAX = "501 5.5.4 Syntax: BDAT <size> [LAST]"
BDAT_TOO_MUCH = "552 5.3.4 Error: Too much mail data"
DISCARD_PIECE = 1 << 16  # a refused chunk is read and dropped in pieces this big


def bdat_args(arg: str | None) -> tuple[int, bool] | None:
    """``BDAT 1024 LAST`` -> (1024, True); None when the arguments do not say a size."""
    words = (arg or "").split()
    if not 1 <= len(words) <= 2 or not words[0].isascii() or not words[0].isdigit():
        return None
    if len(words) == 2 and words[1].upper() != "LAST":
        return None
    return int(words[0]), len(words) == 2


def partial_terminator(last4: bytes) -> int:
    """Length of the longest end of `last4` that begins the terminator (0..4)."""
    for k in (4, 3, 2, 1):
        if last4[-k:] == TERMINATOR[:k]:
            return k
    return 0


class _LineCheck:
    """Collects the DATA bytes and finds the first line that breaks a limit.

    aiosmtpd checks each line in this order, and the first line that fails decides the reply:
    A) its text is longer than the StreamReader limit (``LimitOverrunError``) -> 500;
    B) the bytes so far, this line included, exceed ``data_size_limit`` -> 552;
    C) the line with its CRLF is longer than ``line_length_limit`` -> 500.
    The common case (no line near a limit) costs one ``split`` and one ``max`` per chunk.
    The last 3 bytes fed (and a CR before them) are held back: the final ``.CRLF`` is not data,
    and a CRLF split between two chunks is seen whole.
    """

    __slots__ = (
        "done",
        "fast_max",
        "held",
        "line_limit",
        "partial",
        "parts",
        "reader_limit",
        "reply",
        "size_limit",
    )

    def __init__(self, size_limit: int | None, line_limit: int, reader_limit: int) -> None:
        self.size_limit = size_limit or 0
        self.line_limit = line_limit
        self.reader_limit = reader_limit
        self.fast_max = min(line_limit, reader_limit + 2)  # longest line that fails neither A nor C
        self.parts: list[bytes] = []
        self.held = b""
        self.done = 0  # bytes of data before the current, unfinished line
        self.partial = 0  # bytes of the unfinished line seen so far
        self.reply: str | None = None  # the error reply, once a line failed

    def _fail(self, reply: str) -> None:
        self.reply = reply
        self.parts = []  # discard at once, as aiosmtpd does, against memory pressure

    def feed(self, chunk: bytes) -> None:
        if self.reply is not None:
            return
        buf = self.held + chunk if self.held else chunk
        cut = len(buf) - 3
        if cut > 0 and buf[cut - 1] == 13:  # b"\r"
            cut -= 1
        if cut <= 0:
            self.held = buf
            return
        seg, self.held = buf[:cut], buf[cut:]
        self.parts.append(seg)
        lines = seg.split(b"\r\n")
        last = len(lines[-1])
        if len(lines) > 1:
            first = self.partial + len(lines[0]) + 2
            longest = max(first, max(map(len, lines[1:-1]), default=0) + 2)
            end = self.done + self.partial + len(seg) - last
            if longest > self.fast_max or (self.size_limit and end > self.size_limit):
                self._first_failure(lines)
                return
            self.done, self.partial = end, last
        else:
            self.partial += last
        if self.partial > self.reader_limit:  # A fails now, whatever comes later in this line
            self._fail(TOO_LONG)

    def _first_failure(self, lines: list[bytes]) -> None:
        start, carry = self.done, self.partial
        for piece in lines[:-1]:
            length = carry + len(piece) + 2
            carry = 0
            start += length
            if length - 2 > self.reader_limit:
                return self._fail(TOO_LONG)
            if self.size_limit and start > self.size_limit:
                return self._fail(TOO_MUCH)
            if length > self.line_limit:
                return self._fail(TOO_LONG)
        raise AssertionError("a chunk failed the quick check but no line of it fails")

    def content(self) -> bytes:
        """The data, dot-unstuffed (RFC 5321 4.5.2); only when no line failed."""
        assert self.reply is None and self.held == b".\r\n" and self.partial == 0
        data = b"".join(self.parts).replace(b"\r\n.", b"\r\n")
        return data[1:] if data.startswith(b".") else data


class ChunkedDataSMTP(SMTP):
    """aiosmtpd's SMTP with a DATA reader that reads large chunks (see module doc)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        # aiosmtpd's StreamReader is made with this limit: keep it for rule A of _LineCheck.
        self._data_reader_limit = self.line_length_limit
        self._chunks: list[bytes] | None = None  # the BDAT chunks of this transaction; None: no BDAT
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def _set_post_data_state(self) -> None:
        super()._set_post_data_state()  # type: ignore[no-untyped-call]  # also called for RSET, a new EHLO and a new connection
        self._chunks = None

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        # The simple <local@domain> form without aiosmtpd's RFC 5322 tokenizer (intake/smtp_addr.py).
        simple = simple_path(arg, self.local_part_limit)
        return simple if simple is not None else super()._getaddr(arg)

    async def _read_data(self) -> _LineCheck | None:
        """Read up to and including the terminator, never a byte beyond it.

        `last4` ends the stream read so far, starting with the CRLF of the DATA command line: a
        lone dot right away is an empty message. When that end may begin a terminator, exactly
        the bytes that would complete it are read (no terminator can end sooner); otherwise the
        terminator lies wholly ahead and ``readuntil`` finds its first occurrence.
        """
        check = _LineCheck(self.data_size_limit, self.line_length_limit, self._data_reader_limit)
        reader = self._reader
        last4 = b"\r\n"
        while True:
            k = partial_terminator(last4)
            try:
                if k:
                    chunk = await reader.readexactly(5 - k)
                    found = last4[-k:] + chunk == TERMINATOR
                else:
                    try:
                        chunk = await reader.readuntil(TERMINATOR)
                        found = True
                    except asyncio.LimitOverrunError as e:
                        # More than the reader's limit is buffered: take it and read on.
                        chunk = await reader.read(e.consumed)
                        found = False
            except asyncio.CancelledError:
                log.info("connection lost during DATA")
                self._writer.close()
                raise
            check.feed(chunk)
            if found:
                return check
            if self.transport is None:  # connection gone: deliver nothing half-read
                return None
            last4 = (last4 + chunk)[-4:]

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        if self._chunks is not None:
            await self.push("503 5.5.1 Error: DATA after BDAT in one transaction")
            return

        await self.push("354 End data with <CR><LF>.<CR><LF>")
        check = await self._read_data()
        if check is None:
            return
        if check.reply is not None:
            await self.push(check.reply)
            self._set_post_data_state()
            return
        await self._deliver(check.content())

    async def _deliver(self, original_content: bytes) -> None:
        """aiosmtpd's smtp_DATA from the joined content on, unchanged."""
        content: str | bytes
        if self._decode_data:
            if self.enable_SMTPUTF8:
                content = original_content.decode("utf-8", errors="surrogateescape")
            else:
                try:
                    content = original_content.decode("ascii", errors="strict")
                except UnicodeDecodeError:
                    await self.push("500 Error: strict ASCII mode")
                    return
        else:
            content = original_content
        assert self.envelope is not None
        self.envelope.content = content
        self.envelope.original_content = original_content

        if "DATA" in self._handle_hooks:
            status = await self._call_handler_hook("DATA")
        else:
            status = MISSING
            if hasattr(self.event_handler, "process_message"):
                warn("Use handler.handle_DATA() instead of .process_message()", DeprecationWarning, stacklevel=2)
                assert self.session is not None
                args = (self.session.peer, self.envelope.mail_from, self.envelope.rcpt_tos, self.envelope.content)
                if asyncio.iscoroutinefunction(self.event_handler.process_message):
                    status = await self.event_handler.process_message(*args)
                else:
                    status = self.event_handler.process_message(*args)
                if status is None:
                    status = MISSING
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    @syntax("BDAT <size> [LAST]")
    async def smtp_BDAT(self, arg: str) -> None:
        """A chunk of the message (RFC 3030); the last one delivers it, as the end of DATA does."""
        parsed = bdat_args(arg)
        if parsed is None:
            # Without its size the chunk cannot be told from the commands after it: end the session.
            await self.push(BDAT_SYNTAX)
            assert self._handler_coroutine is not None and self.transport is not None
            self._handler_coroutine.cancel()
            self.transport.close()
            return
        size, last = parsed
        try:
            # aiosmtpd's own checks push their reply at once; the chunk is read after it.
            if await self.check_helo_needed() or await self.check_auth_needed("BDAT"):
                await self._discard(size)
                return
            assert self.envelope is not None
            chunks = self._chunks or []
            refusal = None
            if not self.envelope.mail_from:
                refusal = "503 5.5.1 Error: need MAIL command"
            elif not self.envelope.rcpt_tos:
                refusal = "503 5.5.1 Error: need RCPT command"
            elif self.data_size_limit and sum(map(len, chunks)) + size > self.data_size_limit:
                refusal = BDAT_TOO_MUCH
            if refusal is not None:
                await self._discard(size)
                if refusal == BDAT_TOO_MUCH:
                    self._set_post_data_state()  # the transaction has failed; its chunks go
                await self.push(refusal)
                return
            chunks.append(await self._reader.readexactly(size))
        except asyncio.IncompleteReadError:
            log.info("connection lost during BDAT")
            self._writer.close()
            return
        self._chunks = chunks
        if not last:
            await self.push(f"250 2.0.0 {size} octets received")
            return
        await self._deliver(b"".join(chunks))

    async def _discard(self, size: int) -> None:
        """Read `size` bytes of a refused chunk and drop them, never holding more than a piece."""
        while size:
            piece = await self._reader.read(min(size, DISCARD_PIECE))
            if not piece:
                raise asyncio.IncompleteReadError(b"", size)
            size -= len(piece)
