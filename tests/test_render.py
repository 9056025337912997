"""Notification templates: every event renders in every language, and lookup falls back in order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2 import nodes

from notifications.render import TEMPLATE_DIR, Renderer, TemplateMissing, candidates

CUSTOMER_EVENTS = (
    "case_opened",
    "no_action",
    "case_assigned",
    "reply",
    "satisfaction_request",
    "satisfaction_reminder",
    "case_closed",
    "case_reopened",
    "message_received",
)
STAFF_EVENTS = (
    "approval_needed",
    "verification_rejected",
    "case_assigned",
    "customer_message",
    "case_unsatisfied",
    "verification_needed",
    "reply_needed",
    "case_closed",
)
COMBINATIONS = [("customer", e) for e in CUSTOMER_EVENTS] + [("staff", e) for e in STAFF_EVENTS]
LANGUAGES = ("zh", "en")
REFERENCE = "FB-2026-000123"
LEFTOVERS = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|Undefined|None")


def sample_context(**overrides: Any) -> dict[str, Any]:
    case = {
        "reference": REFERENCE,
        "subject": "转向拉杆球头异响",
        "type_label": "质量投诉",
        "state": "assigned",
        "department_label": "质量部",
        "customer_name": "东风汽车有限公司",
        "contact_name": "王伟",
        "part_number": "3401-00123",
        "batch": "B20260312",
        "received_at_local": "2026-03-15 09:30",
        "deadline_local": "2026-03-22 17:00",
        "severity": "high",
    }
    context: dict[str, Any] = {
        "case": case,
        "reason": "经核查，该批次零件检验合格，异响由安装不当引起。",
        "message": "经分析，异响由球头润滑不足引起，我们已对同批次零件进行排查。",
        "third_party": "",
        "rating": "unsatisfied",
        "console_url": "https://kefu.example/cases/123",
        "reply_hint": "",
        "telegram_link": "",
    }
    context.update(overrides)
    return context


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("audience", "event"), COMBINATIONS)
def test_every_event_has_its_own_template_in_both_languages(audience: str, event: str, language: str) -> None:
    # Checked on disk: rendering alone would hide a missing English file behind the fallback.
    assert (TEMPLATE_DIR / audience / f"{event}.{language}.txt").is_file()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("audience", "event"), COMBINATIONS)
def test_every_email_renders_with_the_reference_and_no_leftovers(
    renderer: Renderer, audience: str, event: str, language: str
) -> None:
    out = renderer.render(audience, event, "email", language, sample_context())

    assert out.subject.startswith(f"[{REFERENCE}] ")
    assert "\n" not in out.subject and out.subject == out.subject.strip()
    assert REFERENCE in out.body
    assert not LEFTOVERS.search(out.subject + out.body)
    assert out.body == out.body.strip()
    assert "\n\n\n" not in out.body
    assert all(line == line.rstrip() for line in out.body.splitlines())


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("audience", "event"), COMBINATIONS)
def test_telegram_messages_have_the_short_frame(renderer: Renderer, audience: str, event: str, language: str) -> None:
    out = renderer.render(audience, event, "telegram", language, sample_context())

    assert REFERENCE in out.body
    assert not LEFTOVERS.search(out.body)
    for letter_frame in ("此致", "敬礼", "Kind regards", "您好，\n", "Hello,"):
        assert letter_frame not in out.body


def test_customer_email_is_a_polite_chinese_letter(renderer: Renderer) -> None:
    out = renderer.render("customer", "case_opened", "email", "zh", sample_context())

    assert out.subject == f"[{REFERENCE}] 我们已收到您的反馈"
    assert out.body.startswith("尊敬的王伟：")
    assert "此致\n敬礼！" in out.body
    assert "3401-00123" in out.body and "2026-03-22 17:00" in out.body


def test_optional_lines_disappear_when_empty(renderer: Renderer) -> None:
    context = sample_context()
    context["case"] = {**context["case"], "part_number": "", "batch": "", "deadline_local": "", "contact_name": ""}

    out = renderer.render("customer", "case_opened", "email", "zh", context)

    assert out.body.startswith("尊敬的客户：")
    assert "零件号" not in out.body and "批次：" not in out.body and "前给您答复" not in out.body


def test_no_action_mail_carries_the_recorded_reason(renderer: Renderer) -> None:
    context = sample_context()
    out = renderer.render("customer", "no_action", "email", "zh", context)

    assert context["reason"] in out.body
    assert "不做处理" in out.body


def test_reply_mail_carries_the_message_verbatim_without_escaping(renderer: Renderer) -> None:
    message = 'Torque < 25 N·m & "clean" thread — see §3'

    out = renderer.render("customer", "reply", "email", "en", sample_context(message=message))

    assert message in out.body


def test_satisfaction_request_offers_words_and_scores(renderer: Renderer) -> None:
    out = renderer.render("customer", "satisfaction_request", "email", "zh", sample_context())

    assert "满意 / 一般 / 不满意" in out.body
    assert "1–5" in out.body
    assert "直接回复本邮件即可" in out.body


def test_reply_hint_replaces_the_email_wording(renderer: Renderer) -> None:
    out = renderer.render(
        "customer", "satisfaction_request", "telegram", "zh", sample_context(reply_hint="在此对话中直接回复即可。")
    )

    assert "在此对话中直接回复即可。" in out.body
    assert "本邮件" not in out.body


@pytest.mark.parametrize(
    ("rating", "language", "expected"),
    [("satisfied", "zh", "满意"), (4, "zh", "4 分"), ("neutral", "en", "neutral"), (5, "en", "5/5")],
)
def test_closing_mail_mentions_the_rating(renderer: Renderer, rating: object, language: str, expected: str) -> None:
    out = renderer.render("customer", "case_closed", "email", language, sample_context(rating=rating))

    assert expected in out.body


@pytest.mark.parametrize("rating", [None, "", "no_response", "未答复", "no response"])
def test_closing_mail_thanks_for_no_rating_that_was_not_given(renderer: Renderer, rating: object) -> None:
    zh = renderer.render("customer", "case_closed", "email", "zh", sample_context(rating=rating))
    en = renderer.render("customer", "case_closed", "email", "en", sample_context(rating=rating))

    assert "感谢您的评价" not in zh.body
    assert "rating" not in en.body


def test_staff_learn_that_the_customer_did_not_answer(renderer: Renderer) -> None:
    out = renderer.render("staff", "case_closed", "email", "zh", sample_context(rating="未答复"))

    assert "客户未对满意度确认作出答复" in out.body
    assert "客户满意度：" not in out.body


def test_staff_notice_shows_case_facts_and_console_link(renderer: Renderer) -> None:
    out = renderer.render("staff", "customer_message", "email", "zh", sample_context())

    assert out.subject == f"[{REFERENCE}] 客户新消息：转向拉杆球头异响"
    assert sample_context()["message"] in out.body
    assert "严重程度：高" in out.body
    assert "https://kefu.example/cases/123" in out.body


def test_staff_notice_without_console_url_has_no_empty_link(renderer: Renderer) -> None:
    out = renderer.render("staff", "approval_needed", "email", "en", sample_context(console_url=""))

    assert "console" not in out.body.lower()


def test_missing_variable_is_an_error_not_a_blank(renderer: Renderer) -> None:
    context = sample_context()
    del context["reason"]

    with pytest.raises(jinja2.UndefinedError):
        renderer.render("customer", "no_action", "email", "zh", context)


def test_missing_case_key_is_an_error(renderer: Renderer) -> None:
    context = sample_context()
    context["case"] = {k: v for k, v in context["case"].items() if k != "reference"}

    with pytest.raises(jinja2.UndefinedError):
        renderer.render("customer", "case_opened", "email", "en", context)


def test_unknown_event_is_template_missing(renderer: Renderer) -> None:
    with pytest.raises(TemplateMissing):
        renderer.render("customer", "no_such_event", "email", "zh", sample_context())


@pytest.mark.parametrize("part", ["../customer", "Customer", "case opened", ""])
def test_names_cannot_leave_the_template_folder(renderer: Renderer, part: str) -> None:
    with pytest.raises(ValueError):
        renderer.render(part, "case_opened", "email", "zh", sample_context())


def test_every_event_template_extends_the_layout() -> None:
    # The layout never outputs the subject block; a template without it would leak the
    # subject into the body.
    env = jinja2.Environment()
    for path in TEMPLATE_DIR.rglob("*.txt"):
        if path.name.startswith("_"):
            continue
        tree = env.parse(path.read_text(encoding="utf-8"))
        extends = tree.find(nodes.Extends)
        assert extends is not None, path
        assert isinstance(extends.template, nodes.Name) and extends.template.name == "layout", path


# -- lookup order, on a folder of our own ------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _event(tag: str) -> str:
    return (
        "{% extends layout %}\n{% block subject %}[{{ case.reference }}] "
        + tag
        + "{% endblock %}\n{% block body %}\nbody "
        + tag
        + "\n{% endblock %}\n"
    )


LAYOUTS = {
    "customer/_base.zh.txt": "ZH-EMAIL\n{% block body %}{% endblock %}\n",
    "customer/_base.en.txt": "EN-EMAIL\n{% block body %}{% endblock %}\n",
    "customer/_base.telegram.zh.txt": "ZH-TG\n{% block body %}{% endblock %}\n",
}


def test_lookup_order_is_documented_in_one_place() -> None:
    assert [name for name, _ in candidates("customer", "reply", "telegram", "en")] == [
        "customer/reply.telegram.en.txt",
        "customer/reply.en.txt",
        "customer/reply.telegram.zh.txt",
        "customer/reply.zh.txt",
    ]
    assert len(candidates("customer", "reply", "email", "zh")) == 2


def test_channel_specific_template_wins(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **LAYOUTS,
            "customer/reply.telegram.zh.txt": "{% extends layout %}{% block body %}chat{% endblock %}",
            "customer/reply.zh.txt": _event("neutral"),
        },
    )
    renderer = Renderer(tmp_path)

    chat = renderer.render("customer", "reply", "telegram", "zh", sample_context())
    mail = renderer.render("customer", "reply", "email", "zh", sample_context())

    assert chat == type(chat)(subject="", body="ZH-TG\nchat")
    assert mail.subject == f"[{REFERENCE}] neutral"
    assert mail.body == "ZH-EMAIL\nbody neutral"


def test_neutral_template_in_the_language_beats_chinese_for_the_channel(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **LAYOUTS,
            "customer/reply.en.txt": _event("english"),
            "customer/reply.telegram.zh.txt": _event("chinese chat"),
        },
    )

    out = Renderer(tmp_path).render("customer", "reply", "telegram", "en", sample_context())

    assert out.subject == f"[{REFERENCE}] english"
    assert out.body.startswith("EN-EMAIL")  # no English Telegram layout: the English one


def test_missing_english_template_falls_back_to_chinese(tmp_path: Path) -> None:
    _write(tmp_path, {**LAYOUTS, "customer/reply.zh.txt": _event("chinese")})

    out = Renderer(tmp_path).render("customer", "reply", "email", "en", sample_context())

    assert out.subject == f"[{REFERENCE}] chinese"
    assert out.body == "ZH-EMAIL\nbody chinese"  # and the layout follows the template's language


def test_nothing_found_is_template_missing(tmp_path: Path) -> None:
    _write(tmp_path, {**LAYOUTS, "customer/reply.en.txt": _event("english")})

    with pytest.raises(TemplateMissing, match=r"case_opened\.zh\.txt"):
        Renderer(tmp_path).render("customer", "case_opened", "email", "en", sample_context())
    with pytest.raises(TemplateMissing):
        Renderer(tmp_path).render("staff", "reply", "email", "en", sample_context())


def test_missing_layout_is_template_missing(tmp_path: Path) -> None:
    _write(tmp_path, {"staff/reply.zh.txt": _event("no layout")})

    with pytest.raises(TemplateMissing, match="_base"):
        Renderer(tmp_path).render("staff", "reply", "email", "zh", sample_context())


def test_subject_is_made_one_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            **LAYOUTS,
            "customer/reply.zh.txt": "{% extends layout %}{% block subject %}\n  [{{ case.reference }}]\n"
            "  多行\t主题  \n{% endblock %}{% block body %}x{% endblock %}",
        },
    )

    out = Renderer(tmp_path).render("customer", "reply", "email", "zh", sample_context())

    assert out.subject == f"[{REFERENCE}] 多行 主题"


@pytest.mark.parametrize("language, words", [("zh", "Telegram 上随时查询"), ("en", "follow this case")])
def test_the_acknowledgement_invites_to_telegram_only_with_a_link(
    renderer: Renderer, language: str, words: str
) -> None:
    link = "https://t.me/kefu_bot?start=c1_ab_cd"
    invited = renderer.render("customer", "case_opened", "email", language, sample_context(telegram_link=link))
    plain = renderer.render("customer", "case_opened", "email", language, sample_context())
    assert link in invited.body and words in invited.body
    assert "t.me" not in plain.body and words not in plain.body


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_third_partys_message_is_told_as_such(renderer: Renderer, language: str) -> None:
    rendered = renderer.render(
        "staff", "customer_message", "email", language, sample_context(third_party="someone@elsewhere.example")
    )
    assert "someone@elsewhere.example" in rendered.body
    assert ("不是本案客户" if language == "zh" else "not this case's customer") in rendered.body


@pytest.mark.parametrize(
    ("language", "says"), [("zh", "客户在此反馈关闭后再次来信"), ("en", "wrote again after the case was closed")]
)
def test_a_case_reopened_by_a_message_is_not_told_as_unsatisfied(renderer: Renderer, language: str, says: str) -> None:
    rendered = renderer.render(
        "staff", "case_unsatisfied", "email", language, sample_context(reopened_by="message", rating="")
    )
    assert says in rendered.body and "不满意" not in rendered.subject and "not satisfied" not in rendered.body


@pytest.mark.parametrize(("language", "says"), [("zh", "验证意见"), ("en", "Quality's note")])
def test_a_rejected_verification_has_its_own_notice_with_the_note(renderer: Renderer, language: str, says: str) -> None:
    rendered = renderer.render("staff", "verification_rejected", "email", language, sample_context(note="复测仍有渗漏"))
    assert says in rendered.body and "复测仍有渗漏" in rendered.body


# -- staff notices about no case (a report falling due) ----------------------------------------


def report_due_context() -> dict[str, Any]:
    """What notifications/context.py, staff_notice_context, gives: no `case`."""
    return {
        "event": "report_due",
        "details": {
            "kind": "marketing",
            "period": "2026Q3",
            "title_zh": "营销总结报告",
            "title_en": "Marketing summary report",
            "record_prefix": "DFCPXS009A",
            "first_day": "2026-07-01",
            "last_day": "2026-09-30",
            "due_on": "2026-10-11",
            "command": "kefu report quarterly --quarter 2026Q3",
            "console_page": "/reports",
        },
        "console_url": "https://kefu.example/reports",
        "reply_hint": "",
        "telegram_link": "",
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_report_reminder_has_its_template_in_both_languages(language: str) -> None:
    assert (TEMPLATE_DIR / "staff" / f"report_due.{language}.txt").is_file()


@pytest.mark.parametrize(("language", "says"), [("zh", "自 2026-10-11 起到期"), ("en", "due since 2026-10-11")])
@pytest.mark.parametrize("channel", ["email", "telegram"])
def test_a_notice_about_no_case_has_its_own_frame_without_case_facts(
    renderer: Renderer, channel: str, language: str, says: str
) -> None:
    out = renderer.render("staff", "report_due", channel, language, report_due_context(), frame="_notice")

    assert "2026Q3" in out.subject and "DFCPXS009A" in out.subject and "\n" not in out.subject
    assert says in out.body and "kefu report quarterly --quarter 2026Q3" in out.body
    assert "https://kefu.example/reports" in out.body
    assert not LEFTOVERS.search(out.subject + out.body)
    assert "反馈编号" not in out.body and "Reference:" not in out.body
    assert ("Hello," in out.body or "您好" in out.body) == (channel == "email")


def test_the_case_frame_refuses_a_notice_without_a_case(renderer: Renderer) -> None:
    # StrictUndefined: the case-based frame prints case facts, and a notice about no case
    # framed by it fails rather than mail blanks.
    with pytest.raises(jinja2.UndefinedError, match="case"):
        renderer.render("staff", "report_due", "email", "zh", report_due_context())
