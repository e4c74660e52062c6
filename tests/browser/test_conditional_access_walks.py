"""Conditional access in a real browser (issue 12's done-when), with the real policies of ``policies``:

- a passkey: a member whose tenant asks for phishing-resistant MFA registers one with Chromium's virtual
  authenticator (CDP ``WebAuthn``), signs in again and answers the challenge with it;
- a blocked country: the member's address (X-Forwarded-For from a proxy the test's settings trust) is in
  North Korea by the offline country database, and a policy blocks that country: the branded block page;
- a report-only policy (require MFA, report-only) lets the member in, and the console's sign-in log shows
  its would-be result, with the country the sign-in came from.
"""

import re

import pytest
from playwright.sync_api import expect

from directory.actors import Actor
from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import AuthenticationMethod, SignInEvent, Tenant, User
from policies import services
from tests.browser.test_content_security_policy import watch_for_violations
from tests.support.browser import DEFAULT_TIMEOUT_MS, sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEMBER = "megan@tailwindtraders.example"
ADMIN = "admin@tailwindtraders.example"
NORTH_KOREA = "175.45.176.1"  # geoip2fast: KP
GERMANY = "193.99.144.80"  # geoip2fast: DE
PHISHING_RESISTANT = "00000000-0000-0000-0000-000000000004"


def _tenant_and_member():
    seed_demo()
    tenant = Tenant.objects.get(slug="tailwind")
    return tenant, User.objects.get(tenant=tenant, user_principal_name=MEMBER)


def _policy(tenant, name, users, grant, state="enabled", **conditions):
    return services.conditional_access_policy_create(
        actor=Actor.operator(tenant=tenant), tenant=tenant, acknowledge_lockout=True, data={
            "displayName": name, "state": state, "grantControls": grant,
            "conditions": {"users": users, "applications": {"includeApplications": ["All"]}, **conditions}})


def _context(new_context, live_server, *, address=None):
    headers = {"X-Forwarded-For": address} if address else {}
    context = new_context(base_url=live_server.url, extra_http_headers=headers)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    return context


def _sign_in(page, email: str, destination: str = "/t/tailwind/") -> None:
    page.goto(f"/accounts/login/?next={destination}")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").first.click()


def test_a_member_registers_a_passkey_and_answers_the_next_challenge_with_it(new_context, live_server, settings):
    settings.SITE_URL = live_server.url  # the relying party: localhost, the origin the browser reports
    tenant, member = _tenant_and_member()
    _policy(tenant, "Megan: phishing-resistant MFA", {"includeUsers": [str(member.pk)]},
            {"authenticationStrength": {"id": PHISHING_RESISTANT}})
    context = _context(new_context, live_server)
    page = context.new_page()
    violations = watch_for_violations(page)
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "usb", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})["authenticatorId"]

    _sign_in(page, MEMBER)
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    page.get_by_role("link", name="Set up a passkey").click()
    expect(page.get_by_role("heading", name="Set up a passkey")).to_be_visible()
    page.get_by_label("Name (optional)").fill("Test key")
    page.get_by_role("button", name="Create a passkey").click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(page.get_by_role("heading", name="My apps")).to_be_visible()
    method = AuthenticationMethod.objects.get(account=member.account, tenant=tenant)
    assert method.kind == "passkey" and method.display_name == "Test key"
    assert len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]) == 1

    # Sign out and in again: the challenge offers the passkey, which answers it.
    page.goto("/accounts/logout/")
    page.locator("form button[type=submit]").first.click()
    _sign_in(page, MEMBER)
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(page.get_by_role("heading", name="My apps")).to_be_visible()
    method.refresh_from_db()
    assert method.last_used_at is not None
    assert violations == []


def test_a_sign_in_from_a_blocked_country_gets_the_branded_block_page(new_context, live_server, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]  # the live server's peer is "the proxy"
    tenant, _member = _tenant_and_member()
    embargo = services.named_location_create(actor=Actor.operator(tenant=tenant), tenant=tenant, kind="country",
                                             data={"displayName": "Embargoed", "countriesAndRegions": ["KP"]})
    _policy(tenant, "Block embargoed countries", {"includeUsers": ["All"]}, {"builtInControls": ["block"]},
            locations={"includeLocations": [str(embargo.pk)]})
    page = _context(new_context, live_server, address=NORTH_KOREA).new_page()
    _sign_in(page, MEMBER)
    expect(page.get_by_text("Block embargoed countries")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Tailwind")  # the tenant's branding
    expect(page.get_by_role("heading", name="My apps")).to_have_count(0)
    event = SignInEvent.objects.filter(tenant=tenant, user_principal_name=MEMBER).latest("created_at")
    assert (event.result, event.country, event.ip_address) == ("failure", "KP", NORTH_KOREA)

    # From Germany the same person gets in.
    page = _context(new_context, live_server, address=GERMANY).new_page()
    _sign_in(page, MEMBER)
    expect(page.get_by_role("heading", name="My apps")).to_be_visible()


def test_a_report_only_policy_lets_the_person_in_and_the_log_shows_its_would_be_result(
        new_context, live_server, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32", "::1/128"]
    tenant, member = _tenant_and_member()
    _policy(tenant, "Everyone MFA (report-only)", {"includeUsers": [str(member.pk)]}, {"builtInControls": ["mfa"]},
            state="enabledForReportingButNotEnforced")
    page = _context(new_context, live_server, address=GERMANY).new_page()
    _sign_in(page, MEMBER)
    expect(page.get_by_role("heading", name="My apps")).to_be_visible()  # not interrupted

    admin = _context(new_context, live_server).new_page()
    sign_in_to_admin(admin, ADMIN, DEMO_PASSWORD)
    admin.goto(f"/admin/directory/signinevent/?q={MEMBER}")
    row = admin.locator("#result_list tbody tr").filter(has_text=MEMBER).first
    expect(row.locator("td.field-policy_outcomes")).to_contain_text("Everyone MFA (report-only): reportOnlyInterrupted")
    expect(row.locator("td.field-country")).to_have_text("DE")
    expect(row.locator("td.field-result")).to_contain_text(re.compile("success", re.I))
