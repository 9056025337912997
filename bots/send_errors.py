"""What a send to Telegram can end in, apart from success: the channel and the handlers catch
these without importing python-telegram-bot (a kefu without a bot token never loads it)."""

from __future__ import annotations


class ChatBlocked(Exception):
    """The user blocked the bot or the chat no longer exists (Forbidden)."""


class SendLater(Exception):
    """Flood control longer than we wait, or the network: try again later."""


class SendRefused(Exception):
    """Telegram refused the request itself (BadRequest): retrying will not help."""
