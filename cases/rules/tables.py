"""The rule tables an admin may change, as data: one row a table, one row a key.

| table          | key                                    | value                         | keepers          |
|----------------|----------------------------------------|-------------------------------|------------------|
| `severity`     | failure category                       | severity grade (6.3.3)        | admin, approver  |
| `routing`      | failure category                       | department the approver's form proposes (6.3.2) | admin, approver |
| `intake_holds` | intake rule that restricts a new case  | allowed / known_sender / thread_only | admin      |

A key's default is what kefu does when nobody changed it; a stored change (store.py) replaces
it. Every key of a table takes the same values. The `intake_holds` keys and defaults mirror
intake/mailrules.py's `RULES` (the rules whose `new_case` is not `allowed`); the arrows point
into cases/, never out of it, so a unit test (tests/test_rule_tables.py) keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from cases.domain.departments import DEPARTMENTS
from cases.domain.enums import FailureCategory, Role, Severity
from cases.domain.intake_message import NewCase
from cases.domain.vocabulary import VOCABULARY

Pair = tuple[str, str]  # (zh, en)


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Pair


@dataclass(frozen=True, slots=True)
class Key:
    name: str
    label: Pair
    default: str


@dataclass(frozen=True, slots=True)
class RuleTable:
    name: str
    title: Pair
    help: Pair
    key_title: Pair  # the heading of the key column
    value_title: Pair  # the heading of the value column
    keys: tuple[Key, ...]
    choices: tuple[Choice, ...]  # the values every key may take (see choices_from)
    keepers: frozenset[Role]
    # "departments": the values are the active departments, read from the table when asked
    # (an admin adds departments; `choices` then holds only the procedure's five, for the docs)
    choices_from: str = ""

    def key(self, name: str) -> Key | None:
        return next((k for k in self.keys if k.name == name), None)

    def allows(self, value: str) -> bool:
        """Whether a stored value still counts (a value from the database was checked when set)."""
        return bool(self.choices_from) or any(c.value == value for c in self.choices)

    def defaults(self) -> dict[str, str]:
        return {k.name: k.default for k in self.keys}


_CATEGORY_LABELS: dict[FailureCategory, Pair] = {
    FailureCategory.SAFETY: ("安全/法规", "safety or regulatory"),
    FailureCategory.FUNCTION: ("功能", "function"),
    FailureCategory.FIT: ("装配/尺寸", "fit or dimension"),
    FailureCategory.APPEARANCE: ("外观", "appearance"),
    FailureCategory.DOCUMENTATION: ("文件/标识", "documentation or labelling"),
}

# The grades migration 0013 seeded: what kefu did before anyone changed the table.
_SEVERITY_DEFAULTS: dict[FailureCategory, Severity] = {
    FailureCategory.SAFETY: Severity.CRITICAL,
    FailureCategory.FUNCTION: Severity.HIGH,
    FailureCategory.FIT: Severity.MEDIUM,
    FailureCategory.APPEARANCE: Severity.LOW,
    FailureCategory.DOCUMENTATION: Severity.LOW,
}

# Who usually owns the analysis at an automotive supplier (procedure 5, 6.3.2-6.3.3): a safety
# issue and an escaped appearance defect go to Quality (containment, the 8D's lead); a loss of
# function is a matter of the product's design; fit and dimension of the tooling and process;
# wrong drawings, manuals and labels of the technical documentation's owner.
_ROUTING_DEFAULTS: dict[FailureCategory, str] = {
    FailureCategory.SAFETY: "quality",
    FailureCategory.FUNCTION: "technical_development",
    FailureCategory.FIT: "production_equipment",
    FailureCategory.APPEARANCE: "quality",
    FailureCategory.DOCUMENTATION: "technical_development",
}

# intake/mailrules.py RULES, the rules with new_case other than ALLOWED (kept in step by a test).
_INTAKE_HOLD_DEFAULTS: tuple[tuple[str, NewCase, Pair], ...] = (
    ("bounce", NewCase.THREAD_ONLY, ("退信或邮件系统通知", "delivery report or mailer-daemon")),
    ("auto_submitted", NewCase.THREAD_ONLY, ("自动发送的邮件（Auto-Submitted）", "Auto-Submitted mail (RFC 3834)")),
    (
        "precedence_bulk",
        NewCase.KNOWN_SENDER,
        ("群发邮件（Precedence: bulk/junk）", "bulk mail (Precedence bulk or junk)"),
    ),
    ("precedence_list", NewCase.KNOWN_SENDER, ("列表邮件（Precedence: list）", "list mail (Precedence list)")),
    ("mailing_list", NewCase.KNOWN_SENDER, ("邮件列表（List-Id）", "mailing list (List-Id)")),
    ("autoreply_header", NewCase.THREAD_ONLY, ("自动回复头（X-Autoreply）", "auto-reply header (X-Autoreply)")),
    ("null_sender", NewCase.THREAD_ONLY, ("空发件人 <>", "null envelope sender <>")),
    ("out_of_office", NewCase.THREAD_ONLY, ("主题为自动回复/休假", "out-of-office subject")),
)

_CATEGORY_KEYS = ("失效类别", "Failure category")

SEVERITY = RuleTable(
    name="severity",
    title=("严重度规则", "Severity rules"),
    help=(
        "失效类别决定初始严重度；外场失效、数量超过阈值各提高一级。批准人设定的严重度优先。",
        "The failure category gives the first grade; a field failure and a quantity above the threshold raise "
        "it one grade each. A grade the approver sets wins.",
    ),
    key_title=_CATEGORY_KEYS,
    value_title=("严重度", "Severity"),
    keys=tuple(Key(c.value, _CATEGORY_LABELS[c], _SEVERITY_DEFAULTS[c].value) for c in FailureCategory),
    choices=tuple(Choice(s.value, VOCABULARY["severity"][s.value]) for s in Severity),
    keepers=frozenset({Role.ADMIN, Role.APPROVER}),
)

ROUTING = RuleTable(
    name="routing",
    title=("分派规则", "Routing rules"),
    help=(
        "按失效类别建议负责部门：批准并分派时预先选中，批准人仍可选择其他部门。",
        "The department proposed for a failure category: preselected when the case is approved and assigned; "
        "the approver may still choose another.",
    ),
    key_title=_CATEGORY_KEYS,
    value_title=("负责部门", "Responsible department"),
    keys=tuple(Key(c.value, _CATEGORY_LABELS[c], _ROUTING_DEFAULTS[c]) for c in FailureCategory),
    choices=tuple(Choice(d.code, (d.name_zh, d.name_en)) for d in DEPARTMENTS),
    keepers=frozenset({Role.ADMIN, Role.APPROVER}),
    choices_from="departments",
)

INTAKE_HOLDS = RuleTable(
    name="intake_holds",
    title=("收件暂存规则", "Intake hold rules"),
    help=(
        "命中这些收件规则、且不属于任何案件的邮件：可以开新案件、仅限已知联系人、或只能并入已有案件（否则暂存待人工查看）。",
        "Mail that hits one of these intake rules and threads to no case: may open a case, only from a known "
        "contact, or only join an existing case (otherwise it is held for a person to look at).",
    ),
    key_title=("收件规则", "Intake rule"),
    value_title=("新案件", "New case"),
    keys=tuple(Key(name, label, policy.value) for name, policy, label in _INTAKE_HOLD_DEFAULTS),
    choices=(
        Choice(NewCase.ALLOWED.value, ("可开新案件", "may open a case")),
        Choice(NewCase.KNOWN_SENDER.value, ("仅限已知联系人", "only from a known contact")),
        Choice(NewCase.THREAD_ONLY.value, ("只并入已有案件", "only joins an existing case")),
    ),
    keepers=frozenset({Role.ADMIN}),
)

TABLES: dict[str, RuleTable] = {t.name: t for t in (SEVERITY, ROUTING, INTAKE_HOLDS)}
