"""Issue 10's guest journey in a real browser, each step photographed at 1366×900 and 390×844 (saved
under test-results/<test>/, not committed) and checked for horizontal overflow on the phone:

- a branded redemption end to end in German: landing (personal message), code page, code e-mail,
  consent, the panel, the app's launch (the demo's local page) and sign-out back to the tenant;
- an app the person is not assigned to: says so and names its owner;
- a guest at /admin/: pointed to the access panels of their organizations;
- a 404 under a tenant (its branding) and elsewhere (the product's).
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from directory.actors import Actor
from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import Application, User
from invitations.services import invitation_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
GUEST = "dana.mueller@fabrikam.example"


@pytest.fixture
def shoot(screenshot):
    """Photograph the page at both widths; on the phone nothing may scroll sideways."""

    def take(page, label: str) -> None:
        for name, size in (("1366", DESKTOP), ("390", PHONE)):
            page.set_viewport_size(size)
            screenshot(page, f"{label}-{name}")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{label} scrolls sideways by {overflow}px at {name} px"
        page.set_viewport_size(DESKTOP)

    return take


@pytest.fixture
def demo(settings, live_server):
    settings.SITE_URL = live_server.url  # absolute links in e-mails, and the demo apps' launch URLs
    return seed_demo()


def _code_from_mail() -> tuple[str, str]:
    message = mail.outbox[-1]
    code = re.search(r"^\s*([A-Z0-9]{3}-?[A-Z0-9]{3})\s*$", message.body, re.MULTILINE).group(1)
    return message.subject, code


def _accent(page) -> str:
    return page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()")


def test_a_branded_redemption_end_to_end_in_german(browser_page, demo, shoot):
    tailwind = demo["tenants"]["tailwind"]
    lee = User.objects.get(tenant=tailwind, user_principal_name="lee@tailwindtraders.example")
    portal = Application.objects.get(tenant=tailwind, display_name="Partner Portal")
    invitation = invitation_create(
        actor=Actor.for_user(lee), tenant=tailwind, email=GUEST, display_name="Dana Müller",
        redirect_url=f"{tailwind_panel(demo)}", send_message=True, message_language="de",
        message_body="Willkommen im gemeinsamen Projekt! Die Pläne liegen im Partner Portal.",
        applications=[portal])
    page = browser_page
    page.set_viewport_size(DESKTOP)

    # The link in the e-mail: a German page (lang="de"), the tenant's colours, the personal message.
    page.goto(invitation.redeem_url)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sie sind zu Tailwind Traders eingeladen")
    expect(page.locator(".personal-message")).to_contain_text("Willkommen im gemeinsamen Projekt!")
    expect(page.locator(".personal-message")).to_contain_text("Nachricht von Lee Gu")
    assert _accent(page) == "#038387"
    expect(page.locator("link[rel=icon]")).to_have_attribute("href", re.compile(r"/media/branding/.+\.png$"))
    shoot(page, "1-landing")
    page.get_by_role("button", name="Einladung annehmen").click()

    # The code page is allauth's, in Tailwind's branding and German; it does not claim a code was sent.
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", level=1)).to_have_text("Code eingeben")
    expect(page.locator("main")).to_contain_text("Wenn sich")
    expect(page.locator(".brand img")).to_have_attribute("alt", "Tailwind Traders")
    assert _accent(page) == "#038387"
    expect(page.get_by_text("Registrieren")).to_have_count(0)
    shoot(page, "2-code")

    # The code e-mail names the inviting organization, in German.
    subject, code = _code_from_mail()
    assert subject.startswith("Ihr Anmeldecode für Tailwind Traders")
    page.locator("input[name=code]").fill("ZZZ-ZZZ")
    page.get_by_role("button", name="Anmelden", exact=True).click()
    expect(page.locator(".error")).to_be_visible()
    page.locator("input[name=code]").fill(code)
    page.get_by_role("button", name="Anmelden", exact=True).click()

    # Consent, in German and branded.
    expect(page.get_by_role("heading", level=1)).to_have_text("Berechtigungen prüfen")
    expect(page.locator("main")).to_contain_text(GUEST)
    shoot(page, "3-consent")
    page.get_by_role("button", name="Annehmen", exact=True).click()

    # The panel: the granted app; the guest's long #EXT# name wraps on the phone.
    expect(page).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(page.locator(".tile.app")).to_have_count(1)
    expect(page.locator(".tile.app")).to_contain_text("Partner Portal")
    expect(page.get_by_role("heading", level=1)).to_have_text("Meine Apps")
    shoot(page, "4-panel")

    # The app launches the demo's own page (served by the project, not an unresolvable host).
    # My Apps opens an app in a new tab; the panel stays where it was.
    with page.context.expect_page() as opened:
        page.locator(".tile.app a").click()
    app_page = opened.value
    expect(app_page.get_by_role("heading", level=1)).to_contain_text("Partner Portal")
    shoot(app_page, "5-app")
    app_page.close()

    # Sign out: back on Tailwind's own sign-in page, still in German.
    page.get_by_role("button", name="Abmelden").click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/sign-in/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Bei Tailwind Traders anmelden")
    shoot(page, "6-signed-out")

    guest = User.objects.get(tenant=tailwind, mail=GUEST)
    assert guest.external_user_state == "Accepted"


def tailwind_panel(demo) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL}/t/{demo['tenants']['tailwind'].slug}/"


def test_an_unassigned_app_says_so_and_whom_to_ask(browser_page, demo, shoot):
    page = browser_page
    page.set_viewport_size(DESKTOP)
    # Adele signs in with her password from Tailwind's sign-in page and lands on the panel.
    page.goto("/t/tailwind/sign-in/")
    page.get_by_role("link", name="sign in with their password").click()
    page.locator("input[name=login]").fill("adele@tailwindtraders.example")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(page.locator(".tile.app")).to_contain_text(["Expense Reports"])

    # A link to the Partner Portal, which is not assigned to her.
    portal = Application.objects.get(tenant__slug="tailwind", display_name="Partner Portal")
    page.goto(f"/t/tailwind/apps/{portal.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You don't have access to Partner Portal")
    owner = page.locator(".orgs li", has_text="Lee Gu")
    expect(owner).to_be_visible()
    expect(owner.get_by_role("link")).to_have_attribute("href", re.compile(r"^mailto:lee@tailwindtraders.example"))
    shoot(page, "unassigned-app")


def test_a_guest_at_admin_is_pointed_to_their_access_panels(browser_page, demo, shoot):
    page = browser_page
    page.set_viewport_size(DESKTOP)
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill("gcarvalho@proseware.example")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/home/$"))
    shoot(page, "home")  # the guest's #EXT# user name wraps on the phone

    page.goto("/admin/")
    expect(page.get_by_role("heading", level=1)).to_have_text("The admin console is for administrators")
    panels = page.locator(".orgs a")
    expect(panels).to_have_text(["Proseware", "Tailwind Traders"])
    shoot(page, "guest-at-admin")
    panels.filter(has_text="Tailwind Traders").click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(page.locator(".tile.app")).to_contain_text(["Partner Portal", "Project Tracker"])


def test_error_pages_are_the_products_and_the_tenants(browser_page, demo, shoot):
    page = browser_page
    page.set_viewport_size(DESKTOP)
    response = page.goto("/t/tailwind/no-such-page/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator(".brand img")).to_have_attribute("alt", "Tailwind Traders")
    assert _accent(page) == "#038387"
    shoot(page, "404-tenant")
    response = page.goto("/no-such-page/")
    assert response.status == 404
    expect(page.locator(".brand")).to_have_text("B2B Portal")
    shoot(page, "404-product")
