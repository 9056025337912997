"""new_text: only what the sender wrote now, for satisfaction replies and case updates."""

from __future__ import annotations

from intake.quotes import new_text

REQUEST = "请回复 1-5 分评价本次服务：5 非常满意，1 不满意。"


def test_text_without_quote_is_returned_trimmed() -> None:
    assert new_text("满意，谢谢！\n\n") == "满意，谢谢！"


def test_qq_mail_original_separator_cuts_the_quote() -> None:
    text = (
        "5分，非常满意\n\n"
        "------------------ 原始邮件 ------------------\n"
        '发件人: "客服"<service@kefu.example>;\n'
        "发送时间: 2026年11月20日(星期五) 上午10:00\n"
        '收件人: "张三"<zhang@example.com>;\n'
        "主题: 满意度确认 [FB-2026-000123]\n\n" + REQUEST
    )
    assert new_text(text) == "5分，非常满意"


def test_foxmail_original_separator_cuts_the_quote() -> None:
    assert new_text(f"不满意\n-----原始邮件-----\n{REQUEST}") == "不满意"


def test_outlook_english_header_block_cuts_the_quote() -> None:
    text = (
        "Very satisfied, 5.\r\n\r\n"
        "________________________________\r\n"
        "From: Service <service@kefu.example>\r\n"
        "Sent: Friday, November 20, 2026 10:00 AM\r\n"
        "To: Zhang San <zhang@example.com>\r\n"
        "Subject: Satisfaction [FB-2026-000123]\r\n\r\n" + REQUEST
    )
    assert new_text(text) == "Very satisfied, 5."


def test_outlook_original_message_separator_cuts_the_quote() -> None:
    text = f"4\n\n-----Original Message-----\nFrom: Service\nSent: Fri\n{REQUEST}"
    assert new_text(text) == "4"


def test_outlook_chinese_header_block_cuts_the_quote() -> None:
    text = (
        "满意\n\n"
        "发件人: 客服 <service@kefu.example>\n"
        "发送时间: 2026年11月20日 10:00\n"
        "收件人: 张三\n"
        "主题: 满意度确认\n\n" + REQUEST
    )
    assert new_text(text) == "满意"


def test_bold_outlook_web_header_block_cuts_the_quote() -> None:
    assert new_text(f"ok 5\n\n*From:* Service\n*Sent:* Friday\n{REQUEST}") == "ok 5"


def test_gmail_attribution_and_angle_quotes_are_cut() -> None:
    text = (
        "Satisfied, thanks.\n\n"
        "On Fri, Nov 20, 2026 at 10:00 AM Service <service@kefu.example> wrote:\n\n"
        f"> {REQUEST}\n> thanks\n"
    )
    assert new_text(text) == "Satisfied, thanks."


def test_gmail_attribution_wrapped_over_two_lines_is_cut() -> None:
    text = (
        "Not satisfied.\n\n"
        "On Fri, Nov 20, 2026 at 10:00 AM Kefu Service Department <\n"
        "service@kefu.example> wrote:\n"
        f"> {REQUEST}\n"
    )
    assert new_text(text) == "Not satisfied."


def test_chinese_gmail_attribution_is_cut() -> None:
    text = f"★★★★\n\n客服 <service@kefu.example> 于2026年11月20日周五 10:00写道：\n\n> {REQUEST}\n"
    assert new_text(text) == "★★★★"


def test_chinese_attribution_starting_with_zai_is_cut() -> None:
    text = f'３分\n\n在 2026年11月20日 10:00，"客服"<service@kefu.example> 写道：\n{REQUEST}\n'
    assert new_text(text) == "３分"


def test_chinese_attribution_wrapped_over_two_lines_is_cut() -> None:
    text = f"满意\n在 2026年11月20日 星期五 上午10:00，\n客服部 写道：\n{REQUEST}"
    assert new_text(text) == "满意"


def test_angle_quoted_lines_are_dropped_anywhere() -> None:
    assert new_text(f"> {REQUEST}\n>> older\n5分") == "5分"


def test_bottom_posted_reply_below_the_quote_is_found() -> None:
    text = f"On Fri, Nov 20, 2026 at 10:00 AM Service <s@kefu.example> wrote:\n> {REQUEST}\n\n5, satisfied\n"
    assert new_text(text) == "5, satisfied"


def test_signature_and_mobile_footer_are_stripped() -> None:
    assert new_text("满意\n-- \n张三\n电话 138 0000 0000\n") == "满意"
    assert new_text("满意\n\n发自我的iPhone\n") == "满意"
    assert new_text("Good\n\nSent from my iPhone") == "Good"


def test_text_quoting_someone_in_prose_is_kept() -> None:
    text = "贵司工程师在报告中写道：\n刹车片硬度合格。\n我们不同意。"
    assert new_text(text) == text


def test_empty_text_stays_empty() -> None:
    assert new_text("") == ""
    assert new_text(f"-----原始邮件-----\n{REQUEST}") == ""
