"""Cross-tenant access settings in the admin console, in a real browser: the Inbound and Outbound tabs."""

import re

import pytest
from playwright.sync_api import expect

from directory.demo import DEMO_PASSWORD, seed_demo
from policies.models import CrossTenantAccessDefault
from policies.models.cross_tenant import b2b_setting
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_blocks_outbound_collaboration_on_the_outbound_tab(browser_page, screenshot):
    seed_demo()
    page = browser_page
    sign_in_to_admin(page, "admin@tailwindtraders.example", DEMO_PASSWORD)
    default = CrossTenantAccessDefault.objects.get(tenant__users__account__email="admin@tailwindtraders.example")
    page.goto(f"/admin/policies/crosstenantaccessdefault/{default.pk}/change/")

    inbound_trust = page.get_by_label("Trust multifactor authentication from Microsoft Entra tenants")
    expect(inbound_trust).to_be_visible()  # the Inbound access tab is open first
    outbound = page.locator(".xt-outbound")
    expect(outbound).to_be_hidden()
    page.get_by_text("Outbound access", exact=True).click()
    expect(outbound).to_be_visible()
    expect(inbound_trust).to_be_hidden()
    screenshot(page, "outbound-tab")

    outbound.locator("input[name=outbound_users_access][value=blocked]").check()
    outbound.locator("input[name=outbound_apps_access][value=blocked]").check()
    page.locator("input[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/policies/crosstenantaccessdefault/$"))
    default.refresh_from_db()
    assert default.b2b_collaboration_outbound == b2b_setting("blocked")
