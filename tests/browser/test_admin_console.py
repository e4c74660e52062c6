"""The admin console in a real browser: the demo admin signs in and finds the tenant's people."""

import re

import pytest
from playwright.sync_api import expect

from directory.demo import DEMO_PASSWORD, seed_demo
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_ADMIN = "admin@tailwindtraders.example"


def test_demo_admin_lists_tenant_users_and_filters_guests(browser_page):
    seed_demo()
    page = browser_page

    sign_in_to_admin(page, DEMO_ADMIN, DEMO_PASSWORD)
    page.goto("/admin/directory/user/")

    rows = page.locator("#result_list tbody tr")
    for name in ("Giovanna Carvalho", "Alex Wilber", "Megan Bowen", "Adele Vance", "Lee Gu"):
        expect(rows.filter(has_text=name)).to_have_count(1)
    # Another tenant's people are not listed (Proseware's own admin is not in Tailwind Traders).
    expect(rows.filter(has_text="Proseware Admin")).to_have_count(0)

    page.locator("#changelist-filter").get_by_role("link", name="Guest", exact=True).click()

    expect(page).to_have_url(re.compile(r"user_type__exact=Guest"))
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Giovanna Carvalho")).to_have_count(1)
    expect(rows.filter(has_text="Alex Wilber")).to_have_count(1)
    expect(rows.filter(has_text="Megan Bowen")).to_have_count(0)
    for row in rows.all():
        expect(row.locator("td.field-user_type")).to_have_text("Guest")
