"""The OpenAPI part of the rule tables (merged in by openapi.py; kefu/web/api/rules.py)."""

from __future__ import annotations

from cases.rules.tables import TABLES
from kefu.web.api.openapi_blocks import (
    OPT_STR,
    OPT_TIME,
    STR,
    TEXT,
    TIME,
    Doc,
    body_of,
    json_doc,
    obj,
    operation,
    param,
    ref,
)

TABLE = param("table", "path", {"enum": list(TABLES)}, "the rule table")
_ZH_EN = obj({"zh": STR, "en": STR})


def schemas() -> Doc:
    return {
        "RuleTableRule": obj({"key": STR, "value": STR, "default": STR, "changed_by": OPT_STR, "changed_at": OPT_TIME}),
        "RuleTableChange": obj(
            {
                "key": STR,
                "old_value": OPT_STR,
                "new_value": STR,
                "outcome": {"enum": ["changed", "refused"]},
                "note": {**OPT_STR, "description": "why a refused attempt was refused"},
                "changed_by": STR,
                "changed_at": TIME,
            }
        ),
        "RuleTable": obj(
            {
                "name": {"enum": list(TABLES)},
                "title": _ZH_EN,
                "help": _ZH_EN,
                "keepers": {"type": "array", "items": STR, "description": "the roles that may change it"},
                "keys": {
                    "type": "array",
                    "items": obj({"key": STR, "zh": STR, "en": STR, "default": STR}),
                },
                "choices": {"type": "array", "items": obj({"value": STR, "zh": STR, "en": STR})},
                "rules": {"type": "array", "items": ref("RuleTableRule"), "description": "every key, as it counts now"},
                "history": {
                    "type": "array",
                    "items": ref("RuleTableChange"),
                    "description": "the latest changes and refused attempts, newest first (GET of one table only)",
                },
            },
            ["name", "title", "help", "keepers", "keys", "choices", "rules"],
        ),
        "RuleTables": obj({"items": {"type": "array", "items": ref("RuleTable")}}),
        "RuleChanged": obj({"table": STR, "key": STR, "value": STR, "old_value": STR}),
    }


def paths() -> Doc:
    return {
        "/api/v1/rule-tables": {
            "get": operation(
                "list_rule_tables",
                "The rule tables an admin keeps (severity, routing, intake holds): keys, allowed values, "
                "defaults, keepers and the values that count now",
                {"200": json_doc(ref("RuleTables"), "The tables.")},
                "403",
                tag="rules",
            )
        },
        "/api/v1/rule-tables/{table}": {
            "get": operation(
                "get_rule_table",
                "One rule table, with its history of changes and refused attempts",
                {"200": json_doc(ref("RuleTable"), "The table.")},
                "400",
                "403",
                "404",
                parameters=[TABLE],
                tag="rules",
            )
        },
        "/api/v1/rule-tables/{table}/{key}": {
            "put": operation(
                "put_rule",
                "Change one key of a rule table (its keepers only; a refused attempt is kept in the history)",
                {"200": json_doc(ref("RuleChanged"), "Changed.")},
                "400",
                "403",
                "404",
                "422",
                parameters=[TABLE, param("key", "path", {**TEXT, "minLength": 1}, "a key of the table")],
                body=body_of({"value": {**TEXT, "description": "one of the table's choices"}}, ["value"]),
                tag="rules",
            )
        },
    }
