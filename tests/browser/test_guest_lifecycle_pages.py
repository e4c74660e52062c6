"""Sponsors and the inactive-guests report in a real browser: an admin adds and removes a guest's sponsor
on the console's user page, finds the guest in the inactive-guests report, and the guest sees their
sponsor in My Account on a phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import Tenant, User
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), page.url


def test_an_admin_edits_sponsors_finds_the_inactive_guest_and_the_guest_sees_the_sponsor(browser_page, new_context,
                                                                                          live_server, screenshot):
    seed_demo()
    tailwind = Tenant.objects.get(slug="tailwind")
    guest = User.objects.get(tenant=tailwind, display_name="Giovanna Carvalho")
    User.objects.filter(pk=guest.pk).update(created_at=timezone.now() - timedelta(days=120), last_sign_in_at=None)
    page = browser_page
    page.set_viewport_size(DESKTOP)
    sign_in_to_admin(page, "admin@tailwindtraders.example", DEMO_PASSWORD)

    page.goto(f"/admin/directory/user/{guest.pk}/change/")
    sponsors = page.locator("#user-section-sponsors")
    expect(sponsors).to_contain_text("Lee Gu")
    sponsors.get_by_label("Add a sponsor").fill("megan@tailwindtraders.example")
    sponsors.get_by_role("button", name="Add sponsor").click()
    expect(page.locator(".messagelist")).to_contain_text("Megan Bowen now sponsors Giovanna Carvalho")
    expect(sponsors).to_contain_text("Megan Bowen")
    sponsors.get_by_role("button", name="Remove Lee Gu").click()
    expect(page.locator(".messagelist")).to_contain_text("Lee Gu no longer sponsors Giovanna Carvalho")
    expect(sponsors).not_to_contain_text("Lee Gu")
    assert [s.display_name for s in guest.sponsors.all()] == ["Megan Bowen"]

    page.goto("/admin/directory/user/")
    page.get_by_role("link", name="Inactive guests").click()
    page.get_by_label("Inactive for at least").select_option("90")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"days=90"))
    row = page.locator("#inactive-guests tbody tr").filter(has_text="Giovanna Carvalho")
    expect(row).to_contain_text("Never")
    expect(row).to_contain_text("Megan Bowen")
    expect(page.locator("#inactive-guests-csv")).to_have_attribute("href", re.compile(r"format=csv"))
    screenshot(page, "inactive-guests-desktop")
    page.set_viewport_size(PHONE)
    page.reload()
    fits(page)
    screenshot(page, "inactive-guests-phone")

    context = new_context(base_url=live_server.url, viewport=PHONE)
    phone = context.new_page()
    phone.goto("/accounts/login/?next=/t/tailwind/account/")
    phone.locator("input[name=login]").fill(guest.mail)
    phone.locator("input[name=password]").fill(DEMO_PASSWORD)
    phone.locator("form button[type=submit]").first.click()
    expect(phone).to_have_url(re.compile(r"/t/tailwind/account/$"))
    section = phone.locator("#sponsors")
    expect(section.get_by_role("heading", name="Sponsors")).to_be_visible()
    expect(section.locator(".sponsor")).to_have_count(1)
    expect(section.get_by_role("link", name="megan@tailwindtraders.example")).to_have_attribute(
        "href", "mailto:megan@tailwindtraders.example")
    fits(phone)
    screenshot(phone, "my-account-sponsors-phone")
