"""Inline keyboards of the bot's notices; the callback data is `<prefix>:<fields>` (64 bytes at
most), read back by the callback table in bots/app.py."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bots.texts import t

SATISFACTION_WORDS = ("satisfied", "neutral", "unsatisfied")


def rating(reference: str, language: str) -> InlineKeyboardMarkup:
    """满意 / 一般 / 不满意, and 1-5."""
    words = [
        InlineKeyboardButton(t(f"rate_{r}", language), callback_data=f"rt:{reference}:{r}") for r in SATISFACTION_WORDS
    ]
    scores = [InlineKeyboardButton(str(n), callback_data=f"rt:{reference}:{n}") for n in range(1, 6)]
    return InlineKeyboardMarkup([words, scores])


def report_confirmation(report_id: int, language: str) -> InlineKeyboardMarkup:
    """满意 / 一般 / 不满意 on a service report (its confirmation request, 6.3.6)."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t(f"rate_{r}", language), callback_data=f"sc:{report_id}:{r}")
                for r in SATISFACTION_WORDS
            ]
        ]
    )


def approval(reference: str, language: str, departments: Sequence[tuple[str, str]]) -> InlineKeyboardMarkup:
    """One "approve -> department" button per department (code, label), then "no action"."""
    rows = [
        [InlineKeyboardButton(t("staff_approve", language, department=label), callback_data=f"ap:{reference}:{code}")]
        for code, label in departments
    ]
    rows.append([InlineKeyboardButton(t("staff_no_action", language), callback_data=f"na:{reference}")])
    return InlineKeyboardMarkup(rows)
