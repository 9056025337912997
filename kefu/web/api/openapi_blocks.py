"""The building blocks of the OpenAPI description: schema shorthands, parameters, operations
(used by openapi.py and the parts it merges in)."""

from __future__ import annotations

from typing import Any

from cases.queries.case_views import MAX_LIMIT
from kefu.web.api.access import ACCESS, Open, describe
from kefu.web.api.support import DEFAULT_LIMIT, ID_MAX, ID_MIN, MAX_OFFSET

Doc = dict[str, Any]


def ref(name: str) -> Doc:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: Doc, required: list[str] | None = None, **extra: Any) -> Doc:
    """An object; every property is required unless `required` says which (an empty list: none)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        **extra,
    }


STR: Doc = {"type": "string"}
INT: Doc = {"type": "integer"}
TIME: Doc = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
OPT_STR: Doc = {"type": ["string", "null"]}
OPT_INT: Doc = {"type": ["integer", "null"]}
OPT_TIME: Doc = {"type": ["string", "null"], "format": "date-time"}

# What a request may send (support.py reads it; the bounds are its own constants).
ID: Doc = {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX}
# A NUL anywhere in a request is refused (400): PostgreSQL cannot keep one in text.
TEXT: Doc = {"type": "string", "pattern": "^[^\\u0000]*$"}
# A text that must say something: the services refuse an empty or blank one (422).
FILLED: Doc = {
    "type": "string",
    "pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$",
    "description": "not empty, not only spaces",
}


def nullable(schema: Doc) -> Doc:
    """The schema, or null: the server reads a null field as one not sent."""
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return {**schema, "type": [*types, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def choice(values: list[str], *, blank: bool = True) -> Doc:
    """One of `values`; with `blank`, also "" and null, which mean "not given"."""
    return {"enum": [*values, "", None]} if blank else {"enum": values}


ERRORS: dict[str, str] = {
    "400": "The request is malformed: not JSON, a missing field, a wrong type, a bad query parameter.",
    "401": "No token, or an invalid one.",
    "403": "The caller's roles do not allow this.",
    "404": "No such thing, or it belongs to another department.",
    "409": "The step is not allowed in the case's current state, or the thing changed meanwhile.",
    "413": "The request body is too large.",
    "422": "The values are well-formed but refused (an empty text, an unknown department).",
}


def error_refs(*codes: str) -> Doc:
    return {code: {"$ref": f"#/components/responses/E{code}"} for code in codes}


def json_doc(schema: Doc, description: str) -> Doc:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def param(name: str, where: str, schema: Doc, description: str, required: bool = False) -> Doc:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": schema,
        "description": description,
    }


# The case reference in a path, and a list's page (support.paging reads the two).
REFERENCE = param("reference", "path", {**TEXT, "minLength": 1}, "the case reference, e.g. FB-2026-000123")
PAGING = [
    param(
        "limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}, "page size"
    ),
    param("offset", "query", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, "items to skip"),
]


def body_of(properties: Doc, required: list[str]) -> Doc:
    """A request body: these fields and no others."""
    return obj(properties, required, additionalProperties=False)


def operation(
    name: str,
    summary: str,
    ok: Doc,
    *errors: str,
    parameters: list[Doc] | None = None,
    body: Doc | None = None,
    tag: str = "cases",
) -> Doc:
    access = ACCESS[name]
    op: Doc = {
        "operationId": name,
        "summary": summary,
        "tags": [tag],
        "description": f"Allowed for: {describe(access)}.",
        "x-roles": sorted(r.value for r in access) if isinstance(access, frozenset) else access.value,
        "responses": {**ok, **error_refs(*(() if access is Open.PUBLIC else ("401",)), *errors)},
    }
    if access is Open.PUBLIC:
        op["security"] = []
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        op["responses"].update(error_refs("413"))
    return op
