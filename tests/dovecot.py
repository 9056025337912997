"""A private, real Dovecot IMAP server for tests: own configuration, own port, own maildir.

Not the system's dovecot: everything (config, sockets, state, log, mail) lives in a temporary
directory, the server listens on 127.0.0.1 only and is stopped afterwards. Needs the Debian
package dovecot-imapd (installed by .ci/run) and root (to drop the mail processes to nobody).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
USER, PASSWORD = "service", "s3cret-pw"


def why_no_dovecot() -> str | None:
    """The reason the IMAP tests must skip, or None when they can run."""
    if DOVECOT is None:
        return "Dovecot is not installed (apt-get install dovecot-imapd; .ci/run installs it)"
    if os.geteuid() != 0:
        return "the private Dovecot instance needs root to run its mail processes as nobody"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = kefu-test-{port}
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
default_internal_user = dovecot
default_login_user = dovenull
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
{ssl}
mail_location = maildir:{d}/mail/%u
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
imap_idle_notify_interval = 1 secs
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins from 127.0.0.1 (Dovecot's documented way to turn
  # the auth penalty off): the wrong-password test would slow every later login down.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


class Dovecot:
    def __init__(self, *, tls: bool = False) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kefu-dovecot-"))
        self.dir.chmod(0o755)
        self.port = _free_port()
        self.tls_port = _free_port()
        self.ca_file: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        ssl = "ssl = no"
        if tls:
            cert, key = self.dir / "cert.pem", self.dir / "key.pem"
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=DNS:localhost",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                ],
                check=True,
                capture_output=True,
                timeout=30,
            )
            self.ca_file = str(cert)
            ssl = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
        (self.dir / "mail").mkdir()
        shutil.chown(self.dir / "mail", "nobody", "nogroup")
        (self.dir / "passwd").write_text(f"{USER}:{PASSWORD}\n")
        self.conf = self.dir / "dovecot.conf"
        self.conf.write_text(CONF.format(d=self.dir, port=self.port, tls_port=self.tls_port, ssl=ssl))

    def start(self) -> Dovecot:
        assert DOVECOT is not None and self._process is None
        # In the foreground (-F), in its own process group: stop() ends exactly this instance
        # and its children at once, and no other dovecot on the machine.
        with open(self.dir / "start.log", "wb") as out:
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                if self._process.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop(keep=True)
        raise RuntimeError(f"dovecot did not start; log:\n{self.log()}")

    def stop(self, keep: bool = False) -> None:
        process, self._process = self._process, None
        if process is not None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=5)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def kick(self) -> None:
        """Drop every IMAP session of the user, as a server restart or a network cut would."""
        subprocess.run(
            ["doveadm", "-c", str(self.conf), "kick", USER],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=15,
        )

    def log(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def url(self, folder: str = "INBOX", password: str = PASSWORD) -> str:
        return f"imap://{USER}:{password}@127.0.0.1:{self.port}/{folder}?starttls=never"

    def client(self) -> IMAPClient:
        """A separate client, the test's own view of the mailbox."""
        c = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        c.login(USER, PASSWORD)
        return c

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.client() as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            c.append(folder, raw)

    def flags(self, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            return {uid: data[b"FLAGS"] for uid, data in c.fetch(uids, ["FLAGS"]).items()} if uids else {}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        with self.client() as c:
            return int(c.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def rebuild(self, folder: str, messages: list[bytes]) -> None:
        """Delete the folder and make it again: the same mail under a new UIDVALIDITY."""
        assert folder.upper() != "INBOX", "INBOX cannot be deleted; rebuild another folder"
        with self.client() as c:
            c.delete_folder(folder)
            c.create_folder(folder)
            for raw in messages:
                c.append(folder, raw)
