"""Terms of use in the redemption journey, in a real browser: a tenant requires its guests to accept its
terms (opened before accepting); the invited guest proves the address with an e-mailed code, consents,
is shown the terms right after consent (Entra's order), must open them to accept, and lands on the
panel; the acceptance is recorded with where it came from, and a new session is not asked again."""

import re

import pytest
from playwright.sync_api import expect

from directory.access import AccessRequest, evaluate_access
from directory.actors import Actor
from directory.demo import seed_demo
from directory.models import Tenant
from invitations import services as invitation_services
from policies import services
from policies.models import AgreementAcceptance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUEST = "erin@fabrikam.example"


def _text_of(mail) -> str:
    message = mail.message if hasattr(mail, "message") else mail
    return message.get_body(preferencelist=("plain",)).get_content()


def test_guest_accepts_the_terms_once_right_after_consent(new_context, live_server, smtp_sink, settings):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_sink.port, 5
    seed_demo()
    tenant = Tenant.objects.get(slug="tailwind")
    operator = Actor.operator(tenant=tenant)
    terms = services.agreement_create(actor=operator, tenant=tenant, data={
        "displayName": "Partner terms", "isViewingBeforeAcceptanceRequired": True,
        "userReacceptRequiredFrequency": "P90D", "files": [{"language": "en", "text": "Keep our secrets secret."}]})
    services.conditional_access_policy_create(actor=operator, tenant=tenant, data={
        "displayName": "Guests accept the partner terms", "state": "enabled",
        "grantControls": {"termsOfUse": [str(terms.pk)]},
        "conditions": {"users": {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}},
                       "applications": {"includeApplications": ["All"]}}})
    result = invitation_services.invitation_create(actor=operator, tenant=tenant, email=GUEST,
                                                   redirect_url="https://partner.example/")

    guest = new_context(base_url=live_server.url).new_page()
    guest.goto(result.redeem_url)
    guest.get_by_role("button", name="Accept invitation").click()
    code_mail = smtp_sink.wait_for(1)[-1]
    code = re.search(r"^\s*([A-Z0-9]{3}-?[A-Z0-9]{3})\s*$", _text_of(code_mail), re.MULTILINE).group(1)
    guest.locator("input[name=code]").fill(code)
    guest.locator("form").filter(has=guest.locator("input[name=code]")).locator("button[type=submit]").first.click()
    expect(guest.get_by_role("heading", name="Review permissions")).to_be_visible()
    guest.get_by_role("button", name="Accept").click()

    # Right after consent: the terms, closed until opened.
    expect(guest.get_by_role("heading", name="Partner terms")).to_be_visible()
    expect(guest.get_by_text("Keep our secrets secret.")).not_to_be_visible()
    guest.locator("details.terms summary").click()
    expect(guest.get_by_text("Keep our secrets secret.")).to_be_visible()
    guest.get_by_label("I have read the terms of use").check()
    guest.get_by_role("button", name="Accept").click()
    expect(guest).to_have_url(re.compile(r"/t/tailwind/$"))

    acceptance = AgreementAcceptance.objects.get(agreement=terms)
    assert acceptance.state == "accepted" and acceptance.ip_address == "127.0.0.1"
    assert "Chrome" in acceptance.user_agent or "Chromium" in acceptance.user_agent
    # A new session (nothing met in it yet) is not asked again: the acceptance counts for 90 days.
    decision = evaluate_access(AccessRequest(tenant=tenant, user=acceptance.user, account=acceptance.user.account,
                                             ip="127.0.0.1"))
    assert not [r for r in decision.requirements if r.startswith("termsOfUse:")]
