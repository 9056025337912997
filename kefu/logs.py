"""Logging as kefu's processes set it up: one format, and the libraries' chatter kept down.

aiosmtpd logs every SMTP command at INFO, addresses included ("'peer' >> b'MAIL FROM:<…>'"),
which is noise at kefu's default level, a cost on a busy intake, and personal data in the log;
kefu logs what it decides (refused recipient, stored, quarantined) with addresses redacted.
With ``KEFU_LOG_LEVEL=DEBUG`` everything is shown.
"""

from __future__ import annotations

import logging
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Logger -> the lowest level it logs at unless the root logs lower (DEBUG).
QUIETER = {
    "mail.log": logging.WARNING,  # aiosmtpd: one INFO line per SMTP command
    "alembic.runtime.plugins": logging.WARNING,  # lists its autogenerate plugins on every start
}


def configure(level: int | str, stream: TextIO | None = None) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=stream)
    root = logging.getLogger().level
    for name, floor in QUIETER.items():
        logging.getLogger(name).setLevel(max(floor, root) if root > logging.DEBUG else root)
