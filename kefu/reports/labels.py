"""Words of the report documents, Chinese and English: section titles, column heads and the
values of the vocabularies (channel, type, severity, state, decision, agreed step)."""

from __future__ import annotations

from cases.domain.vocabulary import VOCABULARY, Pair, capitalised

SECTIONS: dict[str, Pair] = {
    "totals": ("概况", "Overview"),
    "trend": ("月度投诉趋势（c 控制图）", "Complaints per month (c-chart)"),
    "by_channel": ("按渠道", "By channel"),
    "by_type": ("按类型", "By type"),
    "by_severity": ("按严重度", "By severity"),
    "by_customer": ("按客户", "By customer"),
    "by_part": ("按零件号", "By part number"),
    "failure_modes": ("失效模式排列图", "Failure modes (Pareto)"),
    "field_rates": ("市场表现：按零件的现场失效率", "Market performance: field failures per part"),
    "service_life": ("按使用月数的累计失效率（每千件）", "Failures by months in service (cumulative, per thousand)"),
    "early_warnings": ("早期报警", "Early-warning alerts"),
    "repeats": ("重复投诉", "Repeat complaints"),
    "satisfaction": ("顾客满意度", "Customer satisfaction"),
    "warranty": ("三包索赔件责任判定", "Warranty parts by responsibility"),
    "open_actions": ("未关闭的纠正措施", "Open corrective actions"),
    "agreed_steps": ("约定期限达成率", "Agreed deadlines met"),
    "closure_times": ("关闭周期（天）", "Time to close (days)"),
    "service_reports": ("现场服务报告", "On-site service reports"),
}

WORDS: dict[str, Pair] = {
    "period": ("期间", "Period"),
    "record_number": ("记录编号", "Record number"),
    "revision": ("版本", "Revision"),
    "prepared_by": ("编制", "Prepared by"),
    "approved_by": ("批准", "Approved by"),
    "issued_at": ("发布日期", "Issued"),
    "draft": ("草稿（未发布）", "Draft (not issued)"),
    "received": ("收到", "Received"),
    "closed": ("关闭", "Closed"),
    "no_action": ("不做处理", "No action"),
    "open_at_end": ("期末未关闭", "Open at period end"),
    "key": ("项目", "Item"),
    "count": ("数量", "Count"),
    "share": ("占比", "Share"),
    "cumulative": ("累计占比", "Cumulative"),
    "answered": ("已答复", "Answered"),
    "satisfied_rate": ("满意率", "Satisfied rate"),
    "mean_score": ("平均分（1-5）", "Mean score (1-5)"),
    "decision": ("判定", "Decision"),
    "records": ("记录", "Records"),
    "quantity": ("数量", "Quantity"),
    "cost": ("费用", "Cost"),
    "cost_total": ("费用合计", "Total cost"),
    "reference": ("编号", "Reference"),
    "state": ("状态", "State"),
    "department": ("责任部门", "Department"),
    "age_days": ("天数", "Age (days)"),
    "overdue_steps": ("逾期步骤", "Overdue steps"),
    "step": ("步骤", "Step"),
    "due": ("到期", "Due"),
    "on_time": ("按时", "On time"),
    "late": ("延迟", "Late"),
    "open_overdue": ("逾期未完成", "Open, overdue"),
    "on_time_rate": ("按时率", "On-time rate"),
    "severity": ("严重度", "Severity"),
    "cases": ("案例", "Cases"),
    "median_days": ("中位数", "Median"),
    "p90_days": ("90 分位", "90th percentile"),
    "reports": ("报告", "Reports"),
    "hours": ("工时", "Hours"),
    "confirmed": ("已确认", "Confirmed"),
    "how": ("确认方式", "How"),
    "rating": ("评价", "Rating"),
    "month": ("月份", "Month"),
    "centre": ("中心线", "Centre line"),
    "upper_limit": ("上控制限", "Upper limit"),
    "none": ("无", "None"),
    "name": ("名称", "Name"),
    "part_number": ("零件号", "Part number"),
    "failures": ("失效数", "Failures"),
    "shipped_12m": ("近 12 个月发货", "Shipped, last 12 months"),
    "ppm": ("PPM", "PPM"),
    "raised_on": ("报警日期", "Raised on"),
    "failure_mode": ("失效模式", "Failure mode"),
    "rule": ("判据", "Rule"),
    "observed": ("实际", "Observed"),
    "expected": ("期望", "Expected"),
    "alerts": ("报警数", "Alerts"),
    "open": ("未处理", "Open"),
    "repeat_of": ("重复于", "Repeat of"),
    "repeats": ("重复投诉数", "Repeats"),
    "months_in_service": ("使用月数", "Months in service"),
    "units_reached": ("达到该月数的件数", "Units that reached it"),
    "cumulative_per_thousand": ("累计每千件失效", "Cumulative per thousand"),
}

# The vocabularies a report shows values of, flat (no value is in two of them), as table cells.
VALUES: dict[str, Pair] = {
    value: (zh, capitalised(en))
    for kind in (
        "type",
        "rating",
        "channel",
        "severity",
        "state",
        "warranty_decision",
        "step",
        "alert_rule",
        "alert_decision",
    )
    for value, (zh, en) in VOCABULARY[kind].items()
} | {"other": ("其他", "Other")}


def pick(pair: Pair | None, language: str, fallback: str = "") -> str:
    if pair is None:
        return fallback
    return pair[1] if language == "en" else pair[0]


def word(key: str, language: str) -> str:
    return pick(WORDS.get(key), language, key)


def value(key: object, language: str) -> str:
    text = str(key) if key is not None else ""
    return pick(VALUES.get(text), language, text)
