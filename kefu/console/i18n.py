"""The console's words in Chinese (the default) and English: one table, one template set.

`TEXT` maps a key to its (zh, en) pair; templates call `t("key")`. `LABELS` names the values
of the closed vocabularies (states, channels, types, ...). A key missing from the table is a
fault the tests find (tests/test_console.py renders every page in both languages), never a
blank on a page. Why a table and not gettext catalogues: two languages, a few hundred short
strings, no translator tool chain; a word and its translation sit on one line (docs/console.md).
"""

from __future__ import annotations

from typing import Any

from cases.domain.departments import DEPARTMENTS
from cases.domain.enums import Language
from cases.domain.vocabulary import VOCABULARY

TEXT: dict[str, tuple[str, str]] = {
    # frame
    "app_name": ("客服", "kefu"),
    "nav_my_work": ("我的工作", "My work"),
    "nav_cases": ("案件", "Cases"),
    "nav_quarantine": ("隔离邮件", "Quarantine"),
    "nav_users": ("用户", "Users"),
    "nav_account": ("我的账户", "My account"),
    "sign_out": ("退出", "Sign out"),
    "signed_in_as": ("已登录：{name}", "Signed in as {name}"),
    # sign-in, set-up, account
    "signin_title": ("登录", "Sign in"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "signin_button": ("登录", "Sign in"),
    "signin_wrong": ("用户名或密码不正确。", "The username or password is not right."),
    "signin_throttled": (
        "登录失败次数过多，请 {minutes} 分钟后再试。",
        "Too many failed sign-ins; please try again in {minutes} minutes.",
    ),
    "setup_title": ("设置密码", "Set your password"),
    "setup_for": ("账户：{name}", "Account: {name}"),
    "setup_gone": (
        "此设置链接无效、已使用或已过期，请联系管理员。",
        "This set-up link is unknown, used or expired; ask an admin for a new one.",
    ),
    "new_password": ("新密码（至少 10 个字符）", "New password (at least 10 characters)"),
    "new_password_again": ("再次输入新密码", "New password again"),
    "current_password": ("当前密码", "Current password"),
    "passwords_differ": ("两次输入的新密码不一致。", "The two new passwords differ."),
    "save": ("保存", "Save"),
    "account_title": ("我的账户", "My account"),
    "change_password": ("修改密码", "Change my password"),
    "password_changed": ("密码已修改。", "Your password has been changed."),
    "language": ("语言", "Language"),
    "language_saved": ("语言已保存。", "Language saved."),
    "csrf_refused": (
        "表单已过期或不完整（缺少安全令牌），未做任何更改。请重新加载页面后再试。",
        "The form was stale or incomplete (no security token); nothing was changed. Reload the page and try again.",
    ),
    "not_found": ("没有找到。", "Not found."),
    "forbidden": ("您无权执行此操作。", "You may not do this."),
    "error_title": ("出错了", "Something went wrong"),
    "our_fault": (
        "系统出错，已记录。请稍后再试。",
        "Something went wrong on our side; it has been logged. Please try again later.",
    ),
    "back": ("返回", "Back"),
    # my work
    "mywork_title": ("我的工作", "My work"),
    "waiting_approver": ("待审批", "Waiting for approval"),
    "waiting_department": ("待部门处理（分析、措施）", "Waiting for my department (analysis, measures)"),
    "waiting_quality": ("待验证", "Waiting for verification"),
    "waiting_sales": ("待答复客户", "Waiting for the reply to the customer"),
    "steps_overdue": ("已逾期的约定步骤", "Agreed steps overdue"),
    "steps_due": ("即将到期的约定步骤", "Agreed steps due soon"),
    "unanswered": ("未答复的客户消息", "Unanswered customer messages"),
    "unsatisfied": ("不满意的评价", "Unsatisfied ratings"),
    "by_state": ("本部门案件（按状态）", "My department's cases by state"),
    "nothing_waiting": ("没有等待的事项。", "Nothing waiting."),
    "show_all": ("全部 {n} 条", "all {n}"),
    "due": ("到期", "due"),
    # case list
    "cases_title": ("案件", "Cases"),
    "search": ("搜索", "Search"),
    "search_placeholder": ("编号、主题、零件号……", "Reference, subject, part number…"),
    "filter": ("筛选", "Filter"),
    "clear": ("清除", "Clear"),
    "any": ("（全部）", "(any)"),
    "state": ("状态", "State"),
    "department": ("部门", "Department"),
    "customer": ("客户", "Customer"),
    "customer_id": ("客户编号", "Customer id"),
    "channel": ("渠道", "Channel"),
    "type": ("类型", "Type"),
    "severity": ("严重度", "Severity"),
    "part_number": ("零件号", "Part number"),
    "batch": ("批次", "Batch"),
    "received_from": ("收到自", "Received from"),
    "received_to": ("收到至", "Received to"),
    "overdue_only": ("仅逾期", "Overdue only"),
    "sort": ("排序", "Sort"),
    "sort_received": ("收到时间", "Received"),
    "sort_updated": ("更新时间", "Updated"),
    "sort_deadline": ("客户期限", "Deadline"),
    "sort_reference": ("编号", "Reference"),
    "sort_severity": ("严重度", "Severity"),
    "sort_state": ("状态", "State"),
    "newest_first": ("新的在前", "Newest first"),
    "oldest_first": ("旧的在前", "Oldest first"),
    "reference": ("编号", "Reference"),
    "subject": ("主题", "Subject"),
    "received": ("收到", "Received"),
    "deadline": ("客户期限", "Customer deadline"),
    "n_cases": ("共 {n} 件", "{n} cases"),
    "page_of": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "no_cases": ("没有符合条件的案件。", "No case matches."),
    "bad_filter": ("筛选条件有误：{message}", "A filter is not right: {message}"),
    # case page
    "form": ("顾客信息反馈表", "Customer information feedback form"),
    "contact": ("联系人", "Contact"),
    "description": ("描述", "Description"),
    "quantity": ("数量", "Quantity"),
    "vehicle": ("车型 / VIN", "Vehicle / VIN"),
    "reply_channel": ("答复方式", "Reply channel"),
    "linked_case": ("关联案件", "Linked case"),
    "no_action_reason": ("不做处理的理由", "Reason for no action"),
    "analysis": ("原因分析", "Cause analysis"),
    "measures": ("纠正和预防措施", "Corrective and preventive measures"),
    "verification": ("验证", "Verification"),
    "rating": ("满意度", "Satisfaction"),
    "conversation": ("往来记录", "Conversation"),
    "from_customer": ("客户", "customer"),
    "third_party": ("第三方", "third party"),
    "staff_note": ("内部备注", "internal note"),
    "to_customer": ("发给客户", "to the customer"),
    "automatic": ("自动", "automatic"),
    "html_kept": (
        "此邮件另有 HTML 版本，出于安全原因不在此显示。",
        "This mail also has an HTML version; for safety it is not shown here.",
    ),
    "attachments": ("附件", "Attachments"),
    "download": ("下载", "download"),
    "timeline": ("时间线", "Timeline"),
    "notices": ("通知投递状态", "Delivery of notices"),
    "no_notices": ("暂无通知。", "No notices yet."),
    "due_steps": ("约定步骤", "Agreed steps"),
    "actions": ("我现在可以做的", "What I can do now"),
    "no_actions": ("您现在对此案件没有可执行的步骤。", "There is no step for you on this case now."),
    "done": ("已完成", "done"),
    "step_done": ("已保存：{ref} 现在是「{state}」。", "Saved: {ref} is now “{state}”."),
    "note_added": ("备注已添加。", "Note added."),
    "deadline_saved": ("客户期限已保存。", "The customer's deadline is saved."),
    "refused": ("未执行：{message}", "Not done: {message}"),
    "bounced": ("以下地址退信：{addresses}", "These addresses bounced: {addresses}"),
    # action forms (segment of STEPS in kefu/web/api/cases.py)
    "act_approve": ("批准并分派", "Approve and assign"),
    "act_no-action": ("不做处理", "No action"),
    "act_reassign": ("转给其他部门", "Reassign"),
    "act_analysis": ("记录原因分析", "Record the analysis"),
    "act_measures": ("记录措施", "Record the measures"),
    "act_verify": ("验证有效", "Verify"),
    "act_reject-verification": ("验证不通过", "Reject the verification"),
    "act_reply": ("答复客户", "Reply to the customer"),
    "act_rating": ("记录电话或现场的满意度评价", "Record a rating given by phone or on site"),
    "act_deadline": ("设定客户期限", "Set the customer's deadline"),
    "act_notes": ("添加内部备注", "Add an internal note"),
    "field_department": ("部门", "Department"),
    "field_severity": ("严重度", "Severity"),
    "field_note": ("说明", "Note"),
    "field_deadline": ("客户期限（如 2026-12-15）", "Customer deadline (e.g. 2026-12-15)"),
    "field_reason": ("理由（将告知客户）", "Reason (told to the customer)"),
    "field_analysis": ("原因分析", "Cause analysis"),
    "field_measures": ("纠正和预防措施", "Corrective and preventive measures"),
    "field_verification": ("如何验证", "How it was verified"),
    "field_message": ("给客户的答复", "The reply to the customer"),
    "field_rating": ("评价", "Rating"),
    "field_channel": ("评价方式", "How it was given"),
    "field_text": ("备注", "Note"),
    # quarantine
    "quarantine_title": ("隔离和忽略的邮件", "Quarantined and ignored mail"),
    "reason": ("原因", "Reason"),
    "rules": ("规则", "Rules"),
    "sender": ("发件人", "Sender"),
    "preview": ("内容预览（纯文本）", "Preview (plain text)"),
    "rerun": ("重新处理", "Re-run"),
    "rerun_done": ("已重新处理：{outcome}", "Re-run: {outcome}"),
    "nothing_held": ("没有隔离的邮件。", "Nothing is held."),
    "status": ("状态", "Status"),
    "set_aside_title": ("搁置的通知", "Notices set aside"),
    "refan": ("重新发送", "Send again"),
    "nothing_set_aside": ("没有搁置的通知。", "No notice is set aside."),
    # users (admin)
    "users_title": ("用户", "Users"),
    "roles": ("角色", "Roles"),
    "active": ("启用", "Active"),
    "reset_password": ("重置密码", "Reset password"),
    "reset_link": (
        "{name} 的密码已重置。请把这个一次性链接交给本人（72 小时内有效，只显示这一次）：",
        "The password of {name} is reset. Hand this one-time link to them (valid 72 hours, shown only now):",
    ),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
}

_DEPARTMENT_NAMES = {d.code: {"zh": d.name_zh, "en": d.name_en} for d in DEPARTMENTS}

# kind -> value -> language -> label: the domain's vocabularies (cases/domain/vocabulary.py,
# shared with the notices and the reports) and the console's own
LABELS: dict[str, dict[str, dict[str, str]]] = {
    **{kind: {value: {"zh": zh, "en": en} for value, (zh, en) in names.items()} for kind, names in VOCABULARY.items()},
    "step_status": {
        "open": {"zh": "进行中", "en": "open"},
        "overdue": {"zh": "已逾期", "en": "overdue"},
        "done": {"zh": "已完成", "en": "done"},
    },
    "department": _DEPARTMENT_NAMES,
    # the history's actions (cases/domain/states.py and the services); others show as stored
    "action": {
        "opened": {"zh": "创建", "en": "opened"},
        "approve": {"zh": "批准并分派", "en": "approved"},
        "decide_no_action": {"zh": "不做处理", "en": "no action"},
        "reassign": {"zh": "转部门", "en": "reassigned"},
        "record_analysis": {"zh": "原因分析", "en": "analysis"},
        "record_measures": {"zh": "措施", "en": "measures"},
        "verify": {"zh": "验证", "en": "verified"},
        "reject_verification": {"zh": "验证不通过", "en": "verification rejected"},
        "reply": {"zh": "答复客户", "en": "replied"},
        "rate": {"zh": "客户评价", "en": "rated"},
        "reopen": {"zh": "重新打开", "en": "reopened"},
        "remind": {"zh": "提醒", "en": "reminded"},
        "close_no_response": {"zh": "无回复关闭", "en": "closed, no response"},
        "note": {"zh": "备注", "en": "note"},
    },
}


def translate(key: str, language: Language | str, **values: Any) -> str:
    """The text of `key` in `language`; KeyError for a key not in the table (a test finds it)."""
    zh, en = TEXT[key]
    text = en if str(language) == Language.EN else zh
    return text.format(**values) if values else text
