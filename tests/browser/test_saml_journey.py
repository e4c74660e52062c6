"""A partner guest redeems with their own organization's SAML 2.0 identity provider, in Chromium: Fabrikam's
IdP (pysaml2 over HTTPS on 127.0.0.1, tests/support/saml_idp.py) federated by Tailwind for fabrikam.example.
The invitation's link → discovery routes the address to the SAML IdP → the guest signs in there → back at
the ACS → consent → the panel with the shared app. Photographed at 1366 px and 390 px under test-results/."""

import re

import pytest
from playwright.sync_api import expect

from directory.actors import Actor
from directory.demo import seed_demo
from directory.models import Application, FederatedIdentity, User
from invitations.services import invitation_create
from policies import saml, services
from tests.support.saml_idp import SamlIdp

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
GUEST = "kai.fischer@fabrikam.example"


@pytest.fixture
def idp():
    server = SamlIdp().start()
    server.add_user(GUEST, "Kai Fischer")
    yield server
    server.stop()


@pytest.fixture
def journey(settings, live_server, idp):
    settings.SITE_URL = live_server.url
    demo = seed_demo()
    tailwind = demo["tenants"]["tailwind"]
    admin = User.objects.get(tenant=tailwind, user_principal_name="lee@tailwindtraders.example")
    federation = services.saml_federation_create(
        actor=Actor.operator(), tenant=tailwind, domains=[{"id": "fabrikam.example"}],
        data={"displayName": "Fabrikam sign-in", "issuerUri": idp.entity_id, "passiveSignInUri": idp.sso_url,
              "signingCertificate": idp.certificate})
    idp.trust(saml.sp_metadata(federation))  # what Fabrikam's admin does with the SP metadata URL
    portal = Application.objects.get(tenant=tailwind, display_name="Partner Portal")
    result = invitation_create(actor=Actor.for_user(admin), tenant=tailwind, email=GUEST, display_name="Kai Fischer",
                               redirect_url=f"{live_server.url}/t/tailwind/", applications=[portal])
    return {"tailwind": tailwind, "federation": federation, "redeem_url": result.redeem_url}


@pytest.fixture
def page(new_context, live_server):
    # The partner's IdP has a self-signed certificate (made for this test).
    context = new_context(base_url=live_server.url, ignore_https_errors=True)
    context.set_default_timeout(15_000)
    return context.new_page()


def shoot_both(page, screenshot, label):
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{label}-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{label} scrolls sideways by {overflow}px at {width} px"
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_fabrikam_guest_redeems_by_signing_in_at_fabrikams_saml_idp(page, journey, idp, screenshot):
    page.goto(journey["redeem_url"])
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tailwind Traders")
    page.get_by_role("button", name="Accept invitation").click()

    # Discovery sent the address to Fabrikam's IdP (through the SP's start page, which continues by itself).
    expect(page).to_have_url(re.compile(re.escape(idp.sso_url) + r"\?SAMLRequest="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Fabrikam sign-in")
    page.get_by_label("E-mail").fill(GUEST)
    page.get_by_label("Password").fill("Fabrikam's own password")
    page.get_by_role("button", name="Sign in").click()

    # Back at Tailwind: the IdP's response was checked at the ACS; consent, branded.
    expect(page).to_have_url(re.compile(r"/t/tailwind/invitations/accept/"))
    expect(page.locator("main")).to_contain_text(GUEST)
    shoot_both(page, screenshot, "1-consent")
    page.get_by_role("button", name="Accept", exact=True).click()

    expect(page).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(page.locator(".tile.app")).to_contain_text("Partner Portal")
    shoot_both(page, screenshot, "2-panel")

    guest = User.objects.get(tenant=journey["tailwind"], mail=GUEST)
    assert guest.external_user_state == "Accepted"
    identity = FederatedIdentity.objects.get(account=guest.account)
    assert identity.issuer == idp.entity_id.rstrip("/") and identity.subject != GUEST  # the persistent NameID


def test_a_refusal_is_a_branded_page(page, journey, idp, screenshot):
    """The IdP signs in someone of another domain: Tailwind's page says why, in its branding."""
    idp.add_user("eve@contoso.example", "Eve")
    page.goto(saml.begin_url(journey["federation"]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Fabrikam sign-in")
    page.get_by_label("E-mail").fill("eve@contoso.example")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in refused")
    expect(page.locator(".federation-refusal")).to_contain_text("whose domain this identity provider does not serve")
    expect(page.locator(".brand img")).to_have_attribute("alt", "Tailwind Traders")
    shoot_both(page, screenshot, "refused")
