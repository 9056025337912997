"""A lean SMTP sender for the bench: one connection, many mails, PIPELINING (RFC 2920) and,
where offered, CHUNKING (RFC 3030).

The senders kefu meets are mail servers (Postfix, Exim, Exchange, the big providers), and they
pipeline when the server offers it: MAIL, RCPT and DATA go in one packet, the replies come
back together, then the data (`send`); with CHUNKING, the data can go in the same packet as
its envelope (`send_chunked`, as Exchange Online sends). `smtplib` waits for each reply and
spends more CPU on its side than the server does per command; on a two-core machine the
bench's senders share the cores with kefu, so a heavy sender makes kefu look slower than it
is. Every reply is still checked: a mail counts as sent only after its final ``250``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable


class SMTPError(Exception):
    pass


def crlf(data: bytes) -> bytes:
    """The message with CRLF line ends, as it goes on the wire (and is stored)."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def stuffed(data: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled (RFC 5321 4.5.2), terminator."""
    data = crlf(data)
    if data.startswith(b"."):
        data = b"." + data
    data = data.replace(b"\r\n.", b"\r\n..")
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


class PipeliningSender:
    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self._expect(1, b"220")
        self.sock.sendall(b"EHLO bench.kefu.example\r\n")
        lines = self._reply_lines()
        offered = {line[4:].split(b" ", 1)[0].upper() for line in lines}
        self.pipelining = b"PIPELINING" in offered
        self.chunking = b"CHUNKING" in offered

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise SMTPError("connection closed by the server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply_lines(self) -> list[bytes]:
        """One reply, all its lines (``250-`` continues, ``250 `` ends)."""
        lines = [self._line()]
        while lines[-1][3:4] == b"-":
            lines.append(self._line())
        return lines

    def _expect(self, count: int, code: bytes) -> list[bytes]:
        finals = [self._reply_lines()[-1] for _ in range(count)]
        for line in finals:
            if not line.startswith(code):
                raise SMTPError(line.decode("utf-8", "replace"))
        return finals

    def send(self, sender: str, recipients: Iterable[str], payload: bytes) -> None:
        """One mail; `payload` as made by `stuffed`."""
        rcpts = list(recipients)
        commands = [f"MAIL FROM:<{sender}>\r\n".encode()]
        commands += [f"RCPT TO:<{r}>\r\n".encode() for r in rcpts]
        if self.pipelining:  # RFC 2920: MAIL, RCPT and DATA in one group, then wait
            self.sock.sendall(b"".join(commands) + b"DATA\r\n")
            self._expect(1 + len(rcpts), b"250")
        else:
            for command in commands:
                self.sock.sendall(command)
                self._expect(1, b"250")
            self.sock.sendall(b"DATA\r\n")
        self._expect(1, b"354")
        self.sock.sendall(payload)
        self._expect(1, b"250")

    def send_chunked(self, sender: str, recipients: Iterable[str], message: bytes) -> None:
        """One mail as ``BDAT <size> LAST`` (RFC 3030), in one packet with its MAIL and RCPT,
        as Exchange Online sends to a server that offers CHUNKING and PIPELINING; `message`
        as made by `crlf`."""
        if not (self.chunking and self.pipelining):
            raise SMTPError("the server offers no CHUNKING with PIPELINING")
        rcpts = list(recipients)
        self.sock.sendall(
            b"".join(
                [
                    f"MAIL FROM:<{sender}>\r\n".encode(),
                    *(f"RCPT TO:<{r}>\r\n".encode() for r in rcpts),
                    f"BDAT {len(message)} LAST\r\n".encode(),
                    message,
                ]
            )
        )
        self._expect(2 + len(rcpts), b"250")

    def close(self) -> None:
        try:
            self.sock.sendall(b"QUIT\r\n")
            self._expect(1, b"221")
        finally:
            self.sock.close()
