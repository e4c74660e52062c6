"""The Content-Security-Policy in a real browser: the admin, the access panel, an e-mail preview and
Swagger UI work under it, and Chromium reports no violation on any of them."""

import pytest
from playwright.sync_api import expect

from directory import services
from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import OutboxMessage, Tenant
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_ADMIN = "admin@tailwindtraders.example"


def watch_for_violations(page) -> list[str]:
    """Console messages and securitypolicyviolation events (from every frame) that name the policy."""
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    # Playwright's init scripts are not subject to the page's policy: the listener always runs.
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => console.error("
                         "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    return found


def test_admin_and_access_panel_run_without_policy_violations(browser_page):
    seed_demo()
    tenant = Tenant.objects.get(slug="tailwind")
    services.outbox_enqueue(tenant=tenant, to=["guest@partner.example"], subject="Preview me", body_text="x",
                            body_html='<p style="color:#0a7f3f;font-weight:bold">Styled preview</p>')
    page = browser_page
    violations = watch_for_violations(page)

    sign_in_to_admin(page, DEMO_ADMIN, DEMO_PASSWORD)
    page.goto("/admin/directory/user/")
    expect(page.locator("#result_list")).to_be_visible()
    page.locator("#action-toggle").check()  # the admin's own scripts run: the action counter updates
    expect(page.locator(".action-counter")).to_contain_text("selected")

    message = OutboxMessage.objects.get(subject="Preview me")
    page.goto(f"/admin/directory/outboxmessage/{message.pk}/change/")
    preview = page.frame_locator("iframe[sandbox]").get_by_text("Styled preview")
    expect(preview).to_have_css("color", "rgb(10, 127, 63)")  # inline styles apply inside the srcdoc frame

    page.goto("/t/tailwind/")
    expect(page.locator("main")).to_be_visible()
    assert violations == []


def test_swagger_ui_runs_without_policy_violations(browser_page):
    page = browser_page
    violations = watch_for_violations(page)
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Graph-compatible API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []
