"""Render notification texts from jinja2 templates named by audience, event, channel, language.

Lookup (the first file that exists wins, under the template folder)::

    {audience}/{event}.{channel}.{language}.txt   for one channel (customer/reply.telegram.en.txt)
    {audience}/{event}.{language}.txt             channel-neutral
    {audience}/{event}.{channel}.zh.txt           the same two in Chinese, the product's
    {audience}/{event}.zh.txt                     default language
    otherwise TemplateMissing

Template shape: an event template starts with ``{% extends layout %}`` and defines
``{% block subject %}`` and ``{% block body %}``. ``layout`` is set by the Renderer to the
audience's base for the channel, looked up the same way in the language of the event template
that was found: ``{audience}/_base.{channel}.{language}.txt``, then
``{audience}/_base.{language}.txt``.
So one event text serves email (greeting, signature, reference footer) and Telegram (short
frame). The base places the body block and never outputs the subject block.
``Rendered.subject`` is the subject block, on one line and stripped (empty when the template
has none, as Telegram-only templates may); ``Rendered.body`` is the whole output.

Context every template may use (the caller passes all of them; missing ones raise
``jinja2.UndefinedError`` because of StrictUndefined):

* ``case``: mapping with ``reference, subject, type_label, state, department_label,
  customer_name, contact_name, part_number, batch, received_at_local`` (string),
  ``deadline_local`` (string or ""), ``severity`` (Severity value)
* ``reason``: recorded reason of a no-action decision (or "")
* ``message``: the text of a reply or of the customer's new message (or "")
* ``third_party``: the address of a sender who is neither the customer nor staff, on a
  customer_message notice (or "")
* ``rating``: Satisfaction value, a 1-5 score, or None
* ``console_url``: link to the case in the staff console (may be "")
* ``reply_hint``: one sentence telling the reader how to answer on this channel, e.g.
  "直接回复本邮件即可。"; templates use their own email wording when it is ""
* ``telegram_link``: a single-use deep link that binds the reader's chat (or "")
* ``details``: for the quality events (cases/quality/), the record the notice is about: a
  warranty part (part_number, batch, quantity, claim_number, vin, failure_description,
  decision, test_results), a service report (record_number, engineers, planned_start_local,
  location, task, work_done, findings, result; rating, how, confirmed_by once confirmed), an
  agreed step (step, due, source); an empty mapping for other events
* optional ``signature``: signer of customer mail (default 客户服务部 / Customer Service)

A staff notice about no case (an event with no case: a report falling due) is framed by
``staff/_notice.*`` instead of ``_base`` and sees only ``event`` (its kind), ``details`` (for
``report_due``: kind, period, title_zh, title_en, record_prefix, first_day, last_day, due_on,
command, console_page), ``console_url`` (the console page, or ""), ``reply_hint`` and
``telegram_link`` (both ""); no ``case`` (notifications/context.py, staff_notice_context).

Filters: ``rating_label(language)`` and ``severity_label(language)`` turn stored values into
words; unknown values (labels already) pass through unchanged. Test: ``rating is rated`` is
false for None, "" and no_response (as value or label).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2

from cases.domain.vocabulary import VOCABULARY, label

DEFAULT_LANGUAGE = "zh"
TEMPLATE_DIR = Path(__file__).parent / "templates"

# Names become path parts; allowing only these keeps "../" and odd files out of the lookup.
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body: str


class TemplateMissing(Exception):
    """No template (or no layout) for this audience, event, channel and language."""


def _label(kind: str, value: object, language: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # A 1-5 score from the satisfaction reply.
        return f"{value} 分" if language == "zh" else f"{value}/5"
    return label(kind, value, language)


def rating_label(value: object, language: str = DEFAULT_LANGUAGE) -> str:
    return _label("rating", value, language)


def severity_label(value: object, language: str = DEFAULT_LANGUAGE) -> str:
    return _label("severity", value, language)


# "no_response" in any of its spellings: the case closed after the reminder without a rating.
_NO_RATING = {"", "None", "no_response", *VOCABULARY["rating"]["no_response"]}


def is_rated(value: object) -> bool:
    """Jinja test ``rating is rated``: the customer gave a rating (value or label)."""
    return value is not None and str(value) not in _NO_RATING


def candidates(audience: str, stem: str, channel: str, language: str) -> list[tuple[str, str]]:
    """(template name, its language) in lookup order, without repeats."""
    found: list[tuple[str, str]] = []
    for lang in dict.fromkeys([language, DEFAULT_LANGUAGE]):
        found.append((f"{audience}/{stem}.{channel}.{lang}.txt", lang))
        found.append((f"{audience}/{stem}.{lang}.txt", lang))
    return found


class Renderer:
    def __init__(self, template_dir: Path | None = None) -> None:
        self.template_dir = template_dir or TEMPLATE_DIR
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.template_dir),
            # Plain-text mail and chat messages: HTML escaping would show "&amp;" to customers.
            autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default=False, default_for_string=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["rating_label"] = rating_label
        self._env.filters["severity_label"] = severity_label
        self._env.tests["rated"] = is_rated

    def render(
        self,
        audience: str,
        event: str,
        channel: str,
        language: str,
        context: Mapping[str, object],
        frame: str = "_base",
    ) -> Rendered:
        """`frame`: the stem of the layout, ``_base`` (a case's facts) or ``_notice`` (a staff
        notice about no case, whose context has no ``case``)."""
        for part in (audience, event, channel, language, frame.removeprefix("_")):
            if not _NAME.fullmatch(part):
                raise ValueError(f"not a template name part: {part!r}")
        template, found_language = self._first(candidates(audience, event, channel, language))
        layout, _ = self._first(candidates(audience, frame, channel, found_language))
        variables = {**context, "layout": layout.name}
        try:
            subject = ""
            if "subject" in template.blocks:
                block = template.blocks["subject"](template.new_context(variables))
                subject = " ".join("".join(block).split())
            body = template.render(variables)
        except jinja2.TemplateNotFound as exc:
            # A template that extends or includes a file that is not there.
            raise TemplateMissing(f"{template.name} needs {exc.name}") from exc
        return Rendered(subject=subject, body=_tidy(body))

    def _first(self, names: list[tuple[str, str]]) -> tuple[jinja2.Template, str]:
        for name, lang in names:
            try:
                return self._env.get_template(name), lang
            except jinja2.TemplateNotFound as exc:
                if exc.name != name:
                    raise  # found, but it imports something missing: a broken template
        raise TemplateMissing("none of " + ", ".join(name for name, _ in names))


def _tidy(body: str) -> str:
    # Optional sections (deadline, rating) leave trailing spaces and stacked blank lines.
    lines = [line.rstrip() for line in body.splitlines()]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
