"""Passkeys and security keys (WebAuthn through django-otp-webauthn's helper), answered by a software
authenticator whose answers py_webauthn verifies like a browser's: registration in Security info (the
first method on the way in, combined registration), the MFA challenge answered with one (recorded as the
tenant's second factor "passkey", never signing anyone in), phishing-resistant strength, per-tenant
scoping, replay and wrong origin refused, removal rules, and Graph's fido2Methods."""

import json
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from directory import access
from directory.actors import Actor
from directory.models import AuditEvent, AuthenticationMethod, SignInEvent
from directory.services import (
    PasskeyRefused,
    authentication_method_delete,
    passkey_authentication_options,
    passkey_register,
    passkey_registration_options,
    passkey_verify,
)
from policies import services as policy_services
from tests.factories import AccountFactory, GuestFactory, TenantFactory
from tests.support.webauthn import SoftAuthenticator, b64url

pytestmark = pytest.mark.django_db


def _guest(tenant, account=None):
    return GuestFactory(tenant=tenant, external_user_state="Accepted", account=account or AccountFactory())


def _client(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def _with_passkey(user, authenticator=None):
    authenticator = authenticator or SoftAuthenticator()
    actor = Actor.for_user(user)
    options, state = passkey_registration_options(actor=actor, user=user)
    method = passkey_register(actor=actor, user=user, state=state, credential=authenticator.create(options),
                              name="My key")
    return method, authenticator


def _post_json(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def test_a_guest_registers_a_passkey_on_the_way_in_and_answers_the_next_challenge_with_it(guests_require_mfa):
    tenant = TenantFactory()
    guest = _guest(tenant)
    client = _client(guest)
    panel = reverse("directory:panel", args=[tenant.slug])
    register = reverse("directory:mfa_passkey_register", args=[tenant.slug])
    page = client.get(f"{register}?next={panel}")
    assert page.status_code == 200 and "js/passkey.js" in page.content.decode()

    authenticator = SoftAuthenticator()
    options = _post_json(client, f"{register}?step=options&next={panel}").json()
    assert options["rp"]["id"] == "testserver" and options["user"]["name"] == guest.user_principal_name
    answer = _post_json(client, f"{register}?next={panel}", {"credential": authenticator.create(options),
                                                            "name": "Laptop"})
    assert answer.status_code == 200 and answer.json() == {"redirect": panel}
    method = AuthenticationMethod.objects.get(account=guest.account, tenant=tenant)
    assert method.kind == "passkey" and method.display_name == "Laptop"
    assert method.strengths == {"mfa", "passwordless", "phishingResistant"}
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="User registered security info").exists()
    assert client.get(panel).status_code == 200  # registering answered this sign-in's MFA

    # A new sign-in: the challenge offers the passkey; answering it records MFA for this tenant only.
    again = _client(guest)
    challenge = again.get(panel)["Location"]
    page = again.get(challenge)
    assert "Use a passkey" in page.content.decode() and "id_token" not in page.content.decode()
    verify = reverse("directory:mfa_passkey_verify", args=[tenant.slug])
    options = _post_json(again, f"{verify}?step=options&next={panel}").json()
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(c) for c in authenticator.credentials]
    answer = _post_json(again, f"{verify}?next={panel}", {"credential": authenticator.get(options)})
    assert answer.status_code == 200 and answer.json() == {"redirect": panel}
    assert "mfa" in access.satisfied(again.session, tenant)
    assert again.get(panel).status_code == 200
    assert "_auth_user_id" in again.session  # the person was signed in already; nothing else changed
    method.refresh_from_db()
    assert method.last_used_at is not None
    assert any("passkey" in methods for methods in
               SignInEvent.objects.filter(tenant=tenant).values_list("authentication_methods", flat=True))


def test_combined_registration_offers_a_passkey_instead_of_the_authenticator_app(guests_require_mfa):
    tenant = TenantFactory()
    client = _client(_guest(tenant))
    panel = reverse("directory:panel", args=[tenant.slug])
    challenge = client.get(panel)["Location"]
    totp_page = client.get(client.get(challenge)["Location"]).content.decode()
    register = reverse("directory:mfa_passkey_register", args=[tenant.slug])
    assert f'href="{register}?next={panel}"' in totp_page


def test_an_assertion_cannot_be_replayed_and_a_wrong_origin_is_refused():
    tenant = TenantFactory()
    guest = _guest(tenant)
    actor = Actor.for_user(guest)
    _method, authenticator = _with_passkey(guest)
    options, state = passkey_authentication_options(actor=actor, user=guest)
    answer = authenticator.get(options)
    assert passkey_verify(actor=actor, user=guest, state=state, credential=answer) is not None
    assert passkey_verify(actor=actor, user=guest, state=state, credential=answer) is None  # counter did not move
    options, state = passkey_authentication_options(actor=actor, user=guest)
    assert passkey_verify(actor=actor, user=guest, state=state,
                          credential=authenticator.get(options, origin="https://evil.example")) is None
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="User failed MFA challenge").count() == 2

    options, state = passkey_registration_options(actor=actor, user=guest)
    with pytest.raises(PasskeyRefused):
        passkey_register(actor=actor, user=guest, state=state,
                         credential=SoftAuthenticator(origin="https://evil.example").create(options))
    assert AuthenticationMethod.objects.filter(account=guest.account).count() == 1
    assert WebAuthnCredential.objects.filter(user=guest.account).count() == 1


def test_a_passkey_counts_only_in_the_tenant_it_was_registered_in():
    account = AccountFactory()
    here, there = TenantFactory(), TenantFactory()
    guest_here, guest_there = _guest(here, account), _guest(there, account)
    _method, authenticator = _with_passkey(guest_here)
    options, state = passkey_authentication_options(actor=Actor.for_user(guest_there), user=guest_there)
    assert options["allowCredentials"] == []  # nothing of the other tenant is offered
    credential_id = next(iter(authenticator.credentials))
    answer = authenticator.get({**options, "rpId": "testserver"}, credential_id=credential_id)
    assert passkey_verify(actor=Actor.for_user(guest_there), user=guest_there, state=state, credential=answer) is None


def test_a_passkey_meets_phishing_resistant_strength_and_an_authenticator_app_does_not():
    tenant = TenantFactory()
    guest = _guest(tenant)
    policy_services.conditional_access_policy_create(
        actor=Actor.operator(tenant=tenant), tenant=tenant, acknowledge_lockout=True, data={
            "displayName": "Guests: phishing-resistant MFA", "state": "enabled",
            "grantControls": {"authenticationStrength": {"id": "00000000-0000-0000-0000-000000000004"}},
            "conditions": {"users": {"includeUsers": [str(guest.pk)]}, "applications": {"includeApplications": ["All"]}}})
    client = _client(guest)
    panel = reverse("directory:panel", args=[tenant.slug])
    challenge = client.get(panel)["Location"]
    assert "authenticationStrength%3AphishingResistant" in challenge
    page = client.get(challenge)  # nothing strong enough yet: set up a passkey
    assert page.status_code == 403 and reverse("directory:mfa_passkey_register", args=[tenant.slug]) in \
        page.content.decode()
    register = reverse("directory:mfa_passkey_register", args=[tenant.slug])
    authenticator = SoftAuthenticator()
    options = _post_json(client, f"{register}?step=options&next={panel}").json()
    assert _post_json(client, f"{register}?next={panel}",
                      {"credential": authenticator.create(options)}).status_code == 200
    assert "authenticationStrength:phishingResistant" in access.satisfied(client.session, tenant)
    assert client.get(panel).status_code == 200


def test_adding_a_passkey_next_to_another_method_needs_mfa_first(guests_require_mfa):
    tenant = TenantFactory()
    guest = _guest(tenant)
    _with_passkey(guest)
    client = _client(guest)
    register = reverse("directory:mfa_passkey_register", args=[tenant.slug])
    response = client.get(register)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == reverse("directory:mfa_challenge", args=[tenant.slug])
    assert _post_json(client, f"{register}?step=options").status_code == 403


def test_the_last_passkey_is_removed_only_after_a_fresh_mfa_and_admins_can_revoke_it():
    tenant = TenantFactory()
    guest = _guest(tenant)
    method, _authenticator = _with_passkey(guest)
    with pytest.raises(PermissionDenied):
        authentication_method_delete(actor=Actor.for_user(guest), user=guest, method=method)
    authentication_method_delete(actor=Actor.for_user(guest), user=guest, method=method, recently_verified=True)
    assert not WebAuthnCredential.objects.filter(user=guest.account).exists()


def test_garbage_answers_are_precise_errors_not_500s():
    tenant = TenantFactory()
    guest = _guest(tenant)
    client = _client(guest)
    register = reverse("directory:mfa_passkey_register", args=[tenant.slug])
    verify = reverse("directory:mfa_passkey_verify", args=[tenant.slug])
    for body in ("not json", json.dumps({"credential": {"id": "\x00"}}), json.dumps([1, 2])):
        response = client.post(register, data=body, content_type="application/json")
        assert response.status_code == 400 and "error" in response.json()
    _with_passkey(guest)
    session = client.session
    access.mark_satisfied(session, tenant, "mfa")
    session.save()
    response = client.post(verify, data=json.dumps({"credential": {"response": None}}),
                           content_type="application/json")
    assert response.status_code == 400 and "error" in response.json()


def test_the_passkey_page_speaks_german():
    tenant = TenantFactory()
    client = _client(_guest(tenant))
    page = client.get(reverse("directory:mfa_passkey_register", args=[tenant.slug]), HTTP_ACCEPT_LANGUAGE="de")
    assert "Passkey einrichten" in page.content.decode() and "Passkey erstellen" in page.content.decode()


def test_an_admin_sees_and_removes_a_passkey_in_the_console(client):
    from tests.factories import admin_of

    tenant = TenantFactory()
    guest = _guest(tenant)
    method, _authenticator = _with_passkey(guest)
    client.force_login(admin_of(tenant).account)
    methods = reverse("admin:directory_authenticationmethod_changelist")
    page = client.get(methods).content.decode()
    assert guest.account.email in page and "Passkey or security key" in page
    response = client.post(methods, {"action": "remove_methods", "_selected_action": [str(method.pk)]})
    assert response.status_code == 302
    assert not WebAuthnCredential.objects.filter(user=guest.account).exists()
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Admin deleted security info").exists()
