"""A person who is a member at home and a guest elsewhere switches organization from the panel header and
leaves one, in a real browser (issue 11, "Done when"): the tenant's admins get the e-mail through a real
SMTP sink, the guest is soft-deleted and an admin can restore them. Screenshots at a 1366 px desktop and
a 390 px phone are saved under test-results/."""

import re

import pytest
from playwright.sync_api import expect

from directory import services
from directory.actors import Actor
from directory.models import Application, AppRoleAssignment, User
from tests.factories import PASSWORD, AccountFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_guest_switches_organization_and_leaves_one(browser_page, live_server, smtp_sink, settings, screenshot):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_sink.port, 5
    home = TenantFactory(name="Proseware", slug="proseware", initial_domain="proseware.example")
    tailwind = TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")
    admin = admin_of(tailwind)
    ann = UserFactory(tenant=home, display_name="Ann Proseware", user_principal_name="ann@proseware.example",
                      account=AccountFactory(email="ann@proseware.example"))
    guest = GuestFactory(tenant=tailwind, account=ann.account, display_name="Ann (Proseware)",
                         mail="ann@proseware.example", external_user_state="Accepted")
    app = Application.objects.create(tenant=tailwind, display_name="Partner Portal", launch_url="https://portal.example/")
    app.owners.add(admin)
    AppRoleAssignment.objects.create(tenant=tailwind, application=app, user=guest)

    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/accounts/login/?next=/t/proseware/")
    page.locator("input[name=login]").fill("ann@proseware.example")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/t/proseware/$"))

    # The header's switcher lists both organizations; choosing Tailwind opens its panel and its apps.
    switcher = page.locator("header .org-switcher")
    switcher.locator("summary").click()
    switcher.get_by_role("link", name="Tailwind Traders").click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(page.locator("header .org-switcher summary")).to_contain_text("Tailwind Traders")
    tile = page.locator(".tile.app a")
    expect(tile).to_contain_text("Partner Portal")
    expect(tile).to_have_attribute("target", "_blank")
    expect(page.locator(".tile.app")).not_to_contain_text("Owner:")  # a limited guest reads no one else's name
    screenshot(page, "my-apps-1366")

    # Keyboard: the tile is one tab stop, the search filters as one types.
    page.locator("#app-search").fill("nothing like it")
    expect(page.locator(".tile.app")).to_be_hidden()
    page.locator("#app-search").fill("partner")
    expect(page.locator(".tile.app")).to_be_visible()

    # My Account lists the home organization first (no Leave) and Tailwind (Leave).
    page.get_by_role("navigation", name="Access panel").get_by_role("link", name="My account").click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/account/$"))
    rows = page.locator(".org-list li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Proseware")
    expect(rows.nth(0)).to_contain_text("Home organization")
    expect(rows.nth(0).get_by_role("link", name=re.compile("^Leave"))).to_have_count(0)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "my-account-390")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"

    page.get_by_role("navigation", name="Access panel").get_by_role("link", name="My apps").click()
    expect(page.locator(".tile.app")).to_contain_text("Partner Portal")
    screenshot(page, "my-apps-390")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    page.get_by_role("navigation", name="Access panel").get_by_role("link", name="My account").click()

    # Leave Tailwind: a confirmation first, then home, without Tailwind.
    rows.nth(1).get_by_role("link", name=re.compile("^Leave")).click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/account/leave/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Leave Tailwind Traders?")
    screenshot(page, "leave-390")
    page.locator("#leave-form").get_by_role("button", name="Leave").click()
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.locator(".messages")).to_contain_text("You left Tailwind Traders")
    expect(page.locator(".tile.org")).to_have_count(1)
    expect(page.locator(".tile.org")).to_contain_text("Proseware")

    # Tailwind's admin got the e-mail; the guest is soft-deleted, and restorable.
    [mail] = smtp_sink.wait_for(1, where=lambda m: admin.mail in m.rcpt_tos)
    assert mail.subject == "Ann (Proseware) left Tailwind Traders"
    guest.refresh_from_db()
    assert guest.deleted_at is not None
    page.goto("/t/tailwind/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("You don't have access")
    services.user_restore(actor=Actor.for_user(admin), user=guest)
    assert User.objects.get(pk=guest.pk).deleted_at is None
    page.goto("/t/tailwind/")
    expect(page.locator(".tile.app")).to_contain_text("Partner Portal")
