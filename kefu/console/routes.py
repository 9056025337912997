"""The console's routes, all named `console.*` (the `pages` middleware looks for that name)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from cases.services.account_trail import AccountTrail
from cases.services.departments import Departments
from cases.services.refusals import Refusals
from cases.services.sessions import ConsoleAuth
from cases.settings import Settings
from kefu.console import (
    admin_pages,
    archive_forms,
    auth_views,
    case_pages,
    customer_pages,
    department_pages,
    entry_pages,
    export,
    field_pages,
    report_pages,
    rule_pages,
    template_pages,
    work_pages,
)
from kefu.console.web import (
    ACCOUNT_TRAIL,
    AUTH,
    CONSOLE_SETTINGS,
    DEPARTMENTS,
    REFUSALS,
    RENDERER,
    TEMPLATES,
    templates,
)
from kefu.web.api.access import ACCESS
from notifications.render import Renderer

STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}


def _static_files() -> dict[str, tuple[bytes, str]]:
    return {p.name: (p.read_bytes(), STATIC_TYPES[p.suffix]) for p in STATIC.iterdir() if p.suffix in STATIC_TYPES}


def add_console(
    app: web.Application,
    auth: ConsoleAuth,
    settings: Settings,
    refusals: Refusals,
    *,
    departments: Departments,
    account_trail: AccountTrail,
    renderer: Renderer,
) -> None:
    app[AUTH] = auth
    app[REFUSALS] = refusals
    app[DEPARTMENTS] = departments
    app[ACCOUNT_TRAIL] = account_trail
    app[RENDERER] = renderer
    app[CONSOLE_SETTINGS] = settings
    app[TEMPLATES] = templates()
    files = _static_files()

    async def static(request: web.Request) -> web.Response:
        found = files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        body, content_type = found
        return web.Response(body=body, content_type=content_type, headers={"Cache-Control": "public, max-age=3600"})

    r = app.router
    r.add_get("/", work_pages.work_page, name="console.work")
    r.add_get("/signin", auth_views.signin_page, name="console.signin")
    r.add_post("/signin", auth_views.signin, name="console.signin_post")
    r.add_post("/signout", auth_views.signout, name="console.signout")
    r.add_get("/setup/{token}", auth_views.setup_page, name="console.setup")
    r.add_post("/setup/{token}", auth_views.setup, name="console.setup_post")
    r.add_get("/account", auth_views.account_page, name="console.account")
    r.add_post("/account/password", auth_views.change_password, name="console.password")
    r.add_post("/account/language", auth_views.set_language, name="console.language")
    r.add_get("/cases", case_pages.case_list, name="console.cases")
    r.add_get("/cases/{reference}", case_pages.case_page, name="console.case")
    r.add_post("/cases/{reference}/act/{segment}", case_pages.take_step, name="console.step")
    r.add_get("/cases/{reference}/attachments/{attachment_id}", case_pages.attachment, name="console.attachment")
    r.add_get("/quarantine", work_pages.quarantine_page, name="console.quarantine")
    r.add_post("/quarantine/{inbound_id}/rerun", work_pages.rerun, name="console.rerun")
    r.add_post("/quarantine/notices/{event_id}/refan", work_pages.refan, name="console.refan")
    # -- admin: users, API tokens (admin_pages.py); the rule tables (rule_pages.py) ------------
    r.add_get("/users", admin_pages.users_page, name="console.users")
    r.add_post("/users", admin_pages.add_user, name="console.add_user")
    r.add_post("/users/{username}/reset-password", admin_pages.reset_password, name="console.reset_password")
    r.add_post("/users/{username}/roles", admin_pages.change_user, name="console.change_user")
    r.add_post("/users/{username}/{what:disable|enable}", admin_pages.set_active, name="console.set_active")
    r.add_get("/tokens", admin_pages.tokens_page, name="console.tokens")
    r.add_post("/tokens", admin_pages.create_token, name="console.create_token")
    r.add_post("/tokens/{token_id}/revoke", admin_pages.revoke_token, name="console.revoke_token")
    # Every rule table of cases/rules/tables.py (/rules/severity, /rules/routing, ...): one page.
    table = "/rules/{table:" + rule_pages.TABLE_PATTERN + "}"
    r.add_get(table, rule_pages.rules_page, name="console.rules")
    r.add_post(table, rule_pages.set_rule, name="console.set_rule")
    app[TEMPLATES].globals["rule_tables"] = rule_pages.NAV
    r.add_get("/rules/failure-modes", rule_pages.failure_modes_page, name="console.failure_modes")
    r.add_post("/rules/failure-modes", rule_pages.put_failure_mode, name="console.put_failure_mode")
    r.add_get("/departments", department_pages.departments_page, name="console.departments")
    r.add_post("/departments", department_pages.add_department, name="console.add_department")
    r.add_post("/departments/{code}/rename", department_pages.rename_department, name="console.rename_department")
    r.add_post(
        "/departments/{code}/{what:disable|enable}", department_pages.set_active, name="console.department_active"
    )
    r.add_get("/templates", template_pages.templates_page, name="console.templates")
    # -- end of the admin block -----------------------------------------------------------------
    r.add_get("/static/{name}", static, name="console.static")

    # The reports (report_pages.py) and the case list's Excel export (export.py): the navigation
    # shows /reports to the roles the API's table lets read reports.
    readers = ACCESS["list_reports"]
    app[TEMPLATES].globals["report_readers"] = (
        sorted(r.value for r in readers) if isinstance(readers, frozenset) else []
    )
    app[TEMPLATES].globals["export_cap"] = f"{export.EXPORT_CAP:,}"
    r.add_get("/export/cases.xlsx", export.export_cases, name="console.export_cases")
    # The field data (field_pages.py): early-warning alerts and a batch's trace.
    field_readers = ACCESS["list_warning_alerts"]
    app[TEMPLATES].globals["field_readers"] = (
        sorted(r.value for r in field_readers) if isinstance(field_readers, frozenset) else []
    )
    r.add_get("/warnings", field_pages.warnings_page, name="console.warnings")
    r.add_get("/warnings/{alert_id}", field_pages.warning_page, name="console.warning")
    r.add_post("/warnings/{alert_id}/acknowledge", field_pages.acknowledge, name="console.acknowledge")
    r.add_get("/batches", field_pages.batch_page, name="console.batches")
    r.add_get("/reports", report_pages.reports_page, name="console.reports")
    r.add_get("/reports/draft", report_pages.draft, name="console.report_draft")
    r.add_post("/reports/issue", report_pages.issue, name="console.report_issue")
    r.add_get("/reports/{record_number}/{format}", report_pages.issued_file, name="console.report_file")
    # Log an entry (entry_pages.py) and the customer archive (customer_pages.py)
    r.add_get("/entries/new", entry_pages.entry_page, name="console.entry")
    r.add_post("/entries", entry_pages.log_entry, name="console.entry_post")
    r.add_get("/entries/callers", entry_pages.callers, name="console.callers")
    r.add_get("/customers", customer_pages.customers_page, name="console.customers")
    r.add_get("/customers/{customer_id}", customer_pages.customer_page, name="console.customer")
    r.add_post("/customers", archive_forms.create_customer, name="console.create_customer")
    r.add_post("/customers/{customer_id}/contacts", archive_forms.add_contact, name="console.add_contact")
    r.add_post(
        "/customers/{customer_id}/contacts/{contact_id}", archive_forms.edit_contact, name="console.edit_contact"
    )
    r.add_post(
        "/customers/{customer_id}/contacts/{contact_id}/identities",
        archive_forms.add_identity,
        name="console.add_identity",
    )
    r.add_post("/customers/{customer_id}/agreement", archive_forms.save_agreement, name="console.save_agreement")
    r.add_post("/customers/{customer_id}/merge", customer_pages.merge, name="console.merge")
    r.add_post("/customers/{customer_id}/merges/{merge_id}/undo", customer_pages.unmerge, name="console.unmerge")
