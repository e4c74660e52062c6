"""Done-when of the MFA part of issue 12, in a real browser: a guest invited to a tenant where guests
require MFA (a test evaluator, until conditional access ships its own) redeems with an e-mailed code,
is asked to register an authenticator app (combined registration), scans nothing but types the code the
app would show (computed here with django-otp's TOTP), reaches the panel; signing in again later, the
guest answers the MFA challenge with the app's next code."""

import re
import time
from urllib.parse import urlsplit

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from directory.actors import Actor
from directory.demo import seed_demo
from directory.models import SignInEvent, Tenant
from invitations.services import invitation_create
from tests.factories import admin_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUEST = "erin@fabrikam.example"


def _text_of(mail) -> str:
    message = mail.message if hasattr(mail, "message") else mail
    return message.get_body(preferencelist=("plain",)).get_content()


def _code(secret_b32: str, drift: int = 0) -> str:
    """The app's code ``drift`` steps from now. The server accepts one step either side; a code taken in
    the last seconds of a step could be two steps old when a loaded machine checks it, so wait for the
    next step then."""
    import base64

    if 30 - time.time() % 30 < 10:
        time.sleep(30 - time.time() % 30 + 0.5)
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    return f"{totp(key, drift=drift):06d}"


def _type_emailed_code(page, smtp_sink, count: int) -> None:
    code_mail = smtp_sink.wait_for(count)[-1]
    code = re.search(r"^\s*([A-Z0-9]{3}-?[A-Z0-9]{3})\s*$", _text_of(code_mail), re.MULTILINE).group(1)
    page.locator("input[name=code]").fill(code)
    page.locator("form").filter(has=page.locator("input[name=code]")).locator("button[type=submit]").first.click()


def test_guest_redeems_registers_an_authenticator_app_and_answers_it(guests_require_mfa, new_context,
                                                                      live_server, smtp_sink, settings):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_sink.port, 5
    seed_demo()
    tenant = Tenant.objects.get(slug="tailwind")
    result = invitation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant, email=GUEST,
                               redirect_url=f"{live_server.url}/t/tailwind/")
    link = result.redeem_url if result.redeem_url.startswith("http") else live_server.url + result.redeem_url

    guest = new_context(base_url=live_server.url).new_page()
    guest.goto(link)
    guest.get_by_role("button", name="Accept invitation").click()
    _type_emailed_code(guest, smtp_sink, 1)
    expect(guest.get_by_role("heading", name="Review permissions")).to_be_visible()
    guest.get_by_role("button", name="Accept").click()

    # Guests require MFA and Erin has no method: registration interrupts the way to the panel.
    expect(guest.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(guest.locator("figure.qr svg")).to_be_visible()
    secret = guest.locator("#totp-secret").inner_text().strip()
    guest.get_by_role("textbox", name="Code").fill(_code(secret, drift=-1))  # the app's previous code: the next stays fresh
    guest.get_by_role("button", name="Verify").click()
    expect(guest).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(guest.get_by_role("heading", name="My apps")).to_be_visible()

    # Later, in a new browser: sign in to Tailwind again, and answer the challenge with the app's code.
    again = new_context(base_url=live_server.url).new_page()
    again.goto("/t/tailwind/")
    again.get_by_label("E-mail address").fill(GUEST)
    again.get_by_role("button", name="Send me a code").click()
    _type_emailed_code(again, smtp_sink, 2)
    expect(again.get_by_role("heading", name="Verify your identity")).to_be_visible()
    assert urlsplit(again.url).path == "/t/tailwind/mfa/"
    again.get_by_role("textbox", name="Code").fill(_code(secret))
    again.get_by_role("button", name="Verify").click()
    expect(again).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(again.get_by_role("heading", name="My apps")).to_be_visible()

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not SignInEvent.objects.filter(tenant=tenant, result="success").exists():
        time.sleep(0.1)
    results = set(SignInEvent.objects.filter(tenant=tenant, user_principal_name__contains="erin")
                  .values_list("result", flat=True))
    assert {"interrupted", "success"} <= results
