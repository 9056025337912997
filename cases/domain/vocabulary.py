"""What kefu's stored values are called, in Chinese and English: one table for the customer's
notices, the staff console and the reports, so a state or a severity reads the same in all three.

English is kept in lower case, as it stands inside a sentence ("Thank you for your rating (not
satisfied)"); `label(..., capital=True)` gives the form of a heading or a table cell.
"""

from __future__ import annotations

Pair = tuple[str, str]  # (zh, en)

VOCABULARY: dict[str, dict[str, Pair]] = {
    "state": {
        "new": ("待审批", "new"),
        "no_action": ("不做处理", "no action"),
        "assigned": ("已分派", "assigned"),
        "analysed": ("已分析", "analysed"),
        "measures_taken": ("已采取措施", "measures taken"),
        "verified": ("已验证", "verified"),
        "awaiting_satisfaction": ("待满意度确认", "awaiting satisfaction"),
        "closed": ("已关闭", "closed"),
    },
    # procedure 6.3.1: 电话、传真、信函、来访、调查; "note" is a staff member's internal note
    "channel": {
        "email": ("邮件", "email"),
        "fax": ("传真", "fax"),
        "phone": ("电话", "phone"),
        "letter": ("信函", "letter"),
        "visit": ("来访", "visit"),
        "survey": ("调查", "survey"),
        "telegram": ("Telegram", "Telegram"),
        "note": ("备注", "note"),
    },
    "type": {
        "quality_complaint": ("质量投诉", "quality complaint"),
        "warranty_claim": ("三包索赔件", "warranty claim parts"),
        "onsite_service": ("现场服务", "on-site service"),
        "technical_consultation": ("技术咨询", "technical consultation"),
        "document_request": ("资料/说明书索取", "document or manual request"),
        "quality_record_query": ("质量记录查询", "quality record query"),
        "suggestion": ("意见建议", "suggestion"),
    },
    "severity": {
        "low": ("低", "low"),
        "medium": ("中", "medium"),
        "high": ("高", "high"),
        "critical": ("严重", "critical"),
    },
    "rating": {
        "satisfied": ("满意", "satisfied"),
        "neutral": ("一般", "neutral"),
        "unsatisfied": ("不满意", "not satisfied"),
        "no_response": ("未答复", "no response"),
    },
    "role": {
        "approver": ("审批人", "approver"),
        "department": ("部门", "department"),
        "quality": ("质量", "quality"),
        "sales": ("销售", "sales"),
        "admin": ("管理员", "admin"),
    },
    # the steps a case takes (cases/domain/states.py Action), as a refusal names them
    "action": {
        "approve": ("批准并分派", "approve and assign"),
        "decide_no_action": ("决定不做处理", "decide no action"),
        "reassign": ("转给其他部门", "reassign"),
        "record_analysis": ("记录原因分析", "record the analysis"),
        "record_measures": ("记录纠正和预防措施", "record the measures"),
        "verify": ("验证有效", "verify"),
        "reject_verification": ("验证不通过", "reject the verification"),
        "reply": ("答复客户", "reply to the customer"),
        "rate": ("客户评价", "the customer's rating"),
        "reopen": ("重新打开", "reopen"),
        "record_rating": ("记录客户评价", "record a rating"),
        "record_unsatisfied": ("记录客户不满意", "record an unsatisfied rating"),
        "remind": ("提醒客户评价", "remind the customer"),
        "close_no_response": ("无回复结案", "close without a response"),
        "return_to_analysis": ("退回原因分析", "return to the analysis"),
        "return_to_measures": ("退回措施", "return to the measures"),
        "return_to_verification": ("退回验证", "return to the verification"),
    },
    # the steps a customer agreement gives deadlines to (cases/quality/agreements.py)
    "step": {
        "first_answer": ("首次答复", "first answer"),
        "containment": ("临时遏制措施", "containment"),
        "root_cause": ("根本原因", "root cause"),
        "closure": ("结案答复", "closure"),
    },
    # who is responsible for a returned warranty part (cases/quality/warranty.py)
    "warranty_decision": {
        "ours": ("我方责任", "ours"),
        "not_ours": ("非我方责任", "not ours"),
        "no_trouble_found": ("未发现故障", "no trouble found"),
        "undecided": ("未判定", "undecided"),
    },
    # the early warning's rules and what was decided on an alert (cases/field/)
    "alert_rule": {
        "c_chart": ("c 图（计数）", "c-chart (counts)"),
        "u_chart": ("u 图（单位失效率）", "u-chart (rate)"),
    },
    "alert_decision": {
        "investigate": ("调查", "investigate"),
        "recall": ("召回", "recall"),
        "monitor": ("观察", "monitor"),
        "false_alarm": ("误报", "false alarm"),
    },
}


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def label(kind: str, value: object, language: str, *, capital: bool = False) -> str:
    """The name of `value` (a stored value or its enum) of `kind` in `language` ("zh" unless
    "en"); a value the table does not know is shown as it is stored, None as ""."""
    if value is None:
        return ""
    key = str(value)
    pair = VOCABULARY[kind].get(key)
    if pair is None:
        return key
    if language == "en":
        return capitalised(pair[1]) if capital else pair[1]
    return pair[0]
