"""Bounces as real MTAs write them (RFC 3464 section 6 examples; Postfix 3.x, Exim 4, Exchange
Online, Gmail, qmail), about a notice we sent: `returned` is the headers of our mail."""

from __future__ import annotations


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def returned_headers(message_id: str, to: str, subject: str = "[FB-2026-000001] Wir haben Ihre Reklamation") -> str:
    return (
        f"Return-Path: <service@kefu.example>\n"
        f"From: kefu 客服 <service@kefu.example>\n"
        f"To: {to}\n"
        f"Subject: {subject}\n"
        f"Date: Mon, 02 Nov 2026 09:12:03 +0000\n"
        f"Message-ID: <{message_id}>\n"
        f"Auto-Submitted: auto-generated\n"
        f"MIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n"
    )


def postfix(rcpt: str, message_id: str, to: str = "service@kefu.example", action: str = "failed") -> bytes:
    status, diag = ("5.1.1", "550 5.1.1 <{r}>: Recipient address rejected: User unknown in virtual mailbox table")
    if action == "delayed":
        status, diag = "4.4.1", "connect to mx.faw-parts.cn[203.0.113.7]:25: Connection timed out"
    human = (
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients."
        if action == "failed"
        else "####################################################################\n"
        "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
        "####################################################################\n\n"
        "Your message could not be delivered for more than 4 hour(s).\nIt will be retried until it is 5 day(s) old."
    )
    return _crlf(f"""Return-Path: <>
Received: by mail.relay.example (Postfix) id 4Zk3q1; Mon,  2 Nov 2026 09:12:05 +0000 (UTC)
Date: Mon,  2 Nov 2026 09:12:05 +0000 (UTC)
From: MAILER-DAEMON@mail.relay.example (Mail Delivery System)
Subject: {"Undelivered Mail Returned to Sender" if action == "failed" else "Delayed Mail (still being retried)"}
To: {to}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Zk3q1.1762074725/mail.relay.example"
Message-Id: <20261102091205.4Zk3q1@mail.relay.example>

This is a MIME-encapsulated message.

--4Zk3q1.1762074725/mail.relay.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mail.relay.example.

{human}

                   The mail system

<{rcpt}>: host mx.faw-parts.cn[203.0.113.7] said: {diag.format(r=rcpt)}

--4Zk3q1.1762074725/mail.relay.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.relay.example
X-Postfix-Queue-ID: 4Zk3q1
X-Postfix-Sender: rfc822; service@kefu.example
Arrival-Date: Mon,  2 Nov 2026 09:12:03 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.faw-parts.cn
Diagnostic-Code: smtp; {diag.format(r=rcpt)}

--4Zk3q1.1762074725/mail.relay.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{returned_headers(message_id, rcpt)}
--4Zk3q1.1762074725/mail.relay.example--
""")


def exim(rcpt: str, message_id: str, to: str = "service@kefu.example") -> bytes:
    return _crlf(f"""Return-path: <>
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx1.exim-host.example>
To: {to}
Content-Type: multipart/report; report-type=delivery-status; boundary=1762074725-eximdsn-1804289383
MIME-Version: 1.0
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tAbCd-000123-4X@mx1.exim-host.example>
Date: Mon, 02 Nov 2026 09:12:05 +0000

--1762074725-eximdsn-1804289383
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    host mx.example.de [198.51.100.4]
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:
    550 5.1.1 <{rcpt}>: Recipient address rejected: mailbox unavailable

--1762074725-eximdsn-1804289383
Content-type: message/delivery-status

Reporting-MTA: dns; mx1.exim-host.example

Action: failed
Final-Recipient: rfc822;{rcpt}
Status: 5.0.0
Remote-MTA: dns; mx.example.de
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: mailbox unavailable

--1762074725-eximdsn-1804289383
Content-type: message/rfc822

{returned_headers(message_id, rcpt)}
Wir haben Ihre Reklamation erhalten.

--1762074725-eximdsn-1804289383--
""")


def exim_plain(rcpt: str, message_id: str, to: str = "service@kefu.example") -> bytes:
    """Exim before 4.90 and many hosts configured without DSN: text only."""
    return _crlf(f"""Return-path: <>
X-Failed-Recipients: {rcpt}
From: Mail Delivery System <Mailer-Daemon@old.exim-host.example>
To: {to}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1oLdEr-0001aB-Cd@old.exim-host.example>
Date: Mon, 02 Nov 2026 09:12:05 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:
    host mx.example.de [198.51.100.4]: 550 No such user here

------ This is a copy of the message, including all the headers. ------

{returned_headers(message_id, rcpt)}
Wir haben Ihre Reklamation erhalten.
""")


def exchange(rcpt: str, message_id: str, to: str = "service@kefu.example") -> bytes:
    return _crlf(f"""Received: from SG2PR06MB5433.apcprd06.prod.outlook.com
Content-Type: multipart/report; report-type=delivery-status;
	boundary="ab12cd34-ef56-7890-abcd-ef1234567890"
From: <postmaster@outlook.com>
To: <{to}>
Date: Mon, 2 Nov 2026 09:12:07 +0000
Subject: Undeliverable: [FB-2026-000001] =?utf-8?B?5oiR5Lus5bey5pS25Yiw?=
Auto-Submitted: auto-replied
Message-ID: <a1b2c3d4-0000-4abc-9def-1234567890ab@SG2PR06MB5433.apcprd06.prod.outlook.com>
MIME-Version: 1.0
X-MS-Exchange-Message-Is-Ndr:

--ab12cd34-ef56-7890-abcd-ef1234567890
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="0011aabb-ccdd-eeff-0011-223344556677"

--0011aabb-ccdd-eeff-0011-223344556677
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to {rcpt} couldn't be delivered.
{rcpt.split("@")[0]} wasn't found at {rcpt.split("@")[1]}.

Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient =
not found by SMTP address lookup'

--0011aabb-ccdd-eeff-0011-223344556677
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {rcpt} couldn't be delivered.</p></body></html>

--0011aabb-ccdd-eeff-0011-223344556677--

--ab12cd34-ef56-7890-abcd-ef1234567890
Content-Type: message/delivery-status

Reporting-MTA: dns;SG2PR06MB5433.apcprd06.prod.outlook.com
Received-From-MTA: dns;mail.relay.example
Arrival-Date: Mon, 2 Nov 2026 09:12:06 +0000

Final-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--ab12cd34-ef56-7890-abcd-ef1234567890
Content-Type: message/rfc822

{returned_headers(message_id, rcpt)}
Wir haben Ihre Reklamation erhalten.

--ab12cd34-ef56-7890-abcd-ef1234567890--
""")


def gmail(rcpt: str, message_id: str, to: str = "service@kefu.example") -> bytes:
    return _crlf(f"""Return-Path: <>
Received: by 2002:a05:6402:1234:b0:5c9:1234:abcd; Mon, 02 Nov 2026 01:12:06 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {to}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: <{message_id}>
In-Reply-To: <{message_id}>
X-Failed-Recipients: {rcpt}
Message-ID: <6724e1a6.050a0220.1f2a3b.0001.GMR@mx.google.com>
Date: Mon, 02 Nov 2026 01:12:06 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000c0ffee0625e1a6f1"; report-type=delivery-status

--000000000000c0ffee0625e1a6f1
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {rcpt} because the address couldn't be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist.

--000000000000c0ffee0625e1a6f1
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Mon, 02 Nov 2026 01:12:05 -0800 (PST)
X-Original-Message-ID: <{message_id}>

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2607:f8b0:4023:c0b::1a, the server for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
Last-Attempt-Date: Mon, 02 Nov 2026 01:12:06 -0800 (PST)

--000000000000c0ffee0625e1a6f1
Content-Type: text/rfc822-headers

{returned_headers(message_id, rcpt)}
--000000000000c0ffee0625e1a6f1--
""")


def qmail(rcpt: str, message_id: str, to: str = "service@kefu.example") -> bytes:
    return _crlf(f"""Return-Path: <>
Date: 2 Nov 2026 09:12:05 -0000
From: MAILER-DAEMON@mail.qmail-host.example
To: {to}
Subject: failure notice

Hi. This is the qmail-send program at mail.qmail-host.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{rcpt}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

{returned_headers(message_id, rcpt)}
Wir haben Ihre Reklamation erhalten.
""")
