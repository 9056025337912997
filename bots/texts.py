"""Everything the bot says, in Chinese and English: one table, keyed by what the text is for."""

from __future__ import annotations

from cases.domain.enums import Language

TEXTS: dict[str, tuple[str, str]] = {
    "welcome": (
        "您好！这里是客户服务（客服）机器人。\n"
        "• /new 提交新的投诉或反馈（我们会一步步询问）\n"
        "• /status 查看您未结的反馈及其进度\n"
        "• 直接发消息：补充到您正在处理中的反馈\n"
        "如果您已是我们的客户，可点下方按钮分享手机号，以便与您的客户档案关联。",
        "Hello! This is the customer service (客服) bot.\n"
        "• /new report a new complaint or feedback (we ask step by step)\n"
        "• /status your open cases and where they stand\n"
        "• just write: your message joins the case we are working on\n"
        "If you are already our customer, share your phone number with the button below so that "
        "we can find your record.",
    ),
    "share_phone": ("分享手机号", "Share my phone number"),
    "bound_contact": (
        "已关联到您的客户档案（{name}）。之后的进度和答复会发到这里。",
        "This chat is now linked to your customer record ({name}). Updates and replies will come here.",
    ),
    "bound_user": (
        "已关联到您的 kefu 账号（{name}）。需要您处理的事项会推送到这里。",
        "This chat is now linked to your kefu account ({name}). Things that need you will be pushed here.",
    ),
    "link_invalid": (
        "该链接无效。请向我们的客服人员索取新的链接。",
        "This link is not valid. Please ask our service staff for a new one.",
    ),
    "link_used": (
        "该链接已使用过，每个链接只能使用一次。请索取新的链接。",
        "This link has been used already; each link works once. Please ask for a new one.",
    ),
    "link_expired": ("该链接已过期。请索取新的链接。", "This link has expired. Please ask for a new one."),
    "phone_matched": (
        "已根据手机号找到您的客户档案（{name}）。",
        "We found your customer record by your phone number ({name}).",
    ),
    "phone_unknown": (
        "暂未找到该手机号对应的客户档案；您仍可提交反馈，我们的工作人员会为您关联。",
        "We have no record with this number yet; you can still open a case and our staff will match it.",
    ),
    "phone_not_own": ("请分享您本人的手机号。", "Please share your own phone number."),
    "ask_what": ("请描述发生了什么问题（现象、时间、地点）：", "Please describe what happened (symptom, when, where):"),
    "ask_part_number": ("零件号是多少？", "What is the part number?"),
    "ask_batch": ("批次号是多少？", "What is the batch (lot) number?"),
    "ask_quantity": ("涉及数量是多少？（请填写数字）", "How many parts are affected? (a number)"),
    "ask_vehicle": (
        "车型或车架号（VIN）？不清楚请点“跳过”。",
        "Vehicle model or VIN? Press “Skip” if you do not know.",
    ),
    "ask_files": (
        "请发送照片或文件（可多张）。发送完毕请点“完成”，没有请点“跳过”。",
        "Send photos or documents (several are fine). Press “Done” when finished, or “Skip”.",
    ),
    "bad_quantity": ("请填写一个正整数，例如 12。", "Please give a whole number, for example 12."),
    "empty_answer": ("请回答上面的问题，或发送 /cancel 取消。", "Please answer the question above, or send /cancel."),
    "file_received": (
        "已收到 {count} 个附件。继续发送，或点“完成”。",
        "{count} attachment(s) received. Send more, or press “Done”.",
    ),
    "file_too_big": (
        "文件“{name}”超过机器人可下载的大小（20 MB）。我们已记录该文件，请另行通过电子邮件发送给我们。",
        "The file “{name}” is larger than the bot can download (20 MB). We noted it; please send it to us by email.",
    ),
    "summary": (
        "请确认您的反馈：\n问题：{what}\n零件号：{part_number}\n批次：{batch}\n数量：{quantity}\n车型/VIN：{vehicle}\n附件：{files} 个",
        "Please confirm your report:\nWhat happened: {what}\nPart number: {part_number}\nBatch: {batch}\n"
        "Quantity: {quantity}\nVehicle/VIN: {vehicle}\nAttachments: {files}",
    ),
    "confirm": ("确认提交", "Confirm"),
    "cancel": ("取消", "Cancel"),
    "skip": ("跳过", "Skip"),
    "done": ("完成", "Done"),
    "created": (
        "您的反馈已登记，编号 {reference}。我们会尽快处理，进度会发到这里。",
        "Your report is registered as {reference}. We will handle it soon; updates will come here.",
    ),
    "cancelled": ("已取消。", "Cancelled."),
    "not_in_conversation": (
        "此操作已失效。发送 /new 提交新的反馈。",
        "This has expired. Send /new to report something new.",
    ),
    "joined": ("已补充到反馈 {reference}。", "Added to case {reference}."),
    "which_case": (
        "您有多个未结的反馈，这条消息属于哪一个？",
        "You have several open cases. Which one is this message about?",
    ),
    "no_open_case": (
        "您目前没有未结的反馈。发送 /new 提交新的投诉或反馈。",
        "You have no open case. Send /new to report a complaint or feedback.",
    ),
    "status_head": ("您未结的反馈：", "Your open cases:"),
    "status_line": ("{reference} {subject} — {stage}", "{reference} {subject} — {stage}"),
    "rated": ("谢谢您的评价！", "Thank you for your rating!"),
    "sorry": (
        "抱歉，处理您的消息时出了问题，我们会尽快修复，请稍后再试。",
        "Sorry, something went wrong on our side handling your message. Please try again later.",
    ),
    "rate_satisfied": ("满意", "Satisfied"),
    "rate_neutral": ("一般", "Neutral"),
    "rate_unsatisfied": ("不满意", "Not satisfied"),
    # staff
    "staff_not_bound": (
        "此聊天尚未关联 kefu 账号。请在个人资料中生成关联链接。",
        "This chat is not linked to a kefu account. Make a link from your profile.",
    ),
    "staff_approve": ("批准 → {department}", "Approve → {department}"),
    "staff_no_action": ("不做处理", "No action"),
    "staff_ask_reason": (
        "请发送“不做处理”的原因（{reference}），它会告知客户：",
        "Send the reason for “no action” on {reference}; the customer will be told:",
    ),
    "staff_approved": ("✔ {user} 已批准并分配给 {department}", "✔ Approved by {user}, assigned to {department}"),
    "staff_no_action_done": ("✔ {user} 决定不做处理：{reason}", "✔ {user} decided no action: {reason}"),
    "staff_refused": ("未能执行：{error}", "Not done: {error}"),
}

STAGES: dict[str, tuple[str, str]] = {
    "new": ("已登记，待审批", "registered, awaiting approval"),
    "assigned": ("已分配给责任部门", "assigned to the responsible department"),
    "analysed": ("原因分析已完成", "cause analysed"),
    "measures_taken": ("已采取纠正措施", "corrective action taken"),
    "verified": ("质量部已验证", "verified by Quality"),
    "awaiting_satisfaction": ("已答复，待您确认满意度", "answered, waiting for your satisfaction rating"),
    "no_action": ("不做处理", "no action needed"),
    "closed": ("已关闭", "closed"),
}


def language_of(code: str | None) -> Language:
    """Telegram's language_code (IETF tag) to ours: Chinese for zh-*, English for the rest;
    no code at all means Chinese, the product's default."""
    if not code:
        return Language.ZH
    return Language.ZH if code.lower().startswith("zh") else Language.EN


def t(key: str, language: str, **values: object) -> str:
    zh, en = TEXTS[key]
    text = en if language == Language.EN else zh
    return text.format(**values) if values else text


def stage(state: str, language: str) -> str:
    zh, en = STAGES.get(state, (state, state))
    return en if language == Language.EN else zh
