"""directory.federation: who an external identity signs in as, and what the session remembers of it."""

import pytest
from allauth.account.models import EmailAddress

from directory.federation import (
    FederationRefused,
    federated_login_response,
    federated_sign_in_of,
    sign_in_federated,
)
from directory.models import Account, FederatedIdentity, SignInEvent
from directory.signin import session_authentication_methods
from tests.factories import AccountFactory, GuestFactory

pytestmark = pytest.mark.django_db
ISSUER = "https://idp.proseware.example"


def claims(**overrides):
    return {"issuer": ISSUER, "subject": "sub-1", "email": "ann@proseware.example", "email_verified": True,
            "display_name": "Ann", **overrides}


def test_a_verified_address_with_no_account_creates_a_guest_account_without_a_password(http_request, tenant):
    account = sign_in_federated(http_request, tenant=tenant, **claims())
    assert account.email == "ann@proseware.example" and not account.has_usable_password()
    assert FederatedIdentity.objects.get(issuer=ISSUER, subject="sub-1").account == account
    assert EmailAddress.objects.get(user=account).verified


def test_a_known_identity_signs_in_as_its_account_whatever_its_email_claim_says_now(http_request, tenant):
    first = sign_in_federated(http_request, tenant=tenant, **claims())
    again = sign_in_federated(http_request, tenant=tenant, **claims(email="renamed@proseware.example",
                                                                      email_verified=False))
    assert again == first
    assert FederatedIdentity.objects.get().email == "renamed@proseware.example"


def test_a_verified_first_time_identity_links_to_the_account_with_that_address(http_request, tenant):
    existing = AccountFactory(email="ann@proseware.example")
    account = sign_in_federated(http_request, tenant=tenant, **claims())
    assert account == existing
    assert FederatedIdentity.objects.get().account == existing


def test_an_unverified_address_never_links_to_an_existing_account(http_request, tenant):
    AccountFactory(email="ann@proseware.example")
    with pytest.raises(FederationRefused) as refused:
        sign_in_federated(http_request, tenant=tenant, **claims(email_verified=False))
    assert refused.value.code == "email_not_verified"
    assert not FederatedIdentity.objects.exists()


def test_an_unverified_address_creates_no_account(http_request, tenant):
    with pytest.raises(FederationRefused):
        sign_in_federated(http_request, tenant=tenant, **claims(email_verified=False))
    assert not Account.objects.filter(email="ann@proseware.example").exists()


@pytest.mark.parametrize("bad", [{"subject": ""}, {"issuer": ""}, {"email": "not-an-address"},
                                 {"subject": "a\x00b"}])
def test_a_malformed_answer_is_refused_with_a_reason(http_request, tenant, bad):
    with pytest.raises(FederationRefused) as refused:
        sign_in_federated(http_request, tenant=tenant, **claims(**bad))
    assert refused.value.message


def test_a_disabled_account_is_refused_and_the_refusal_is_in_the_tenants_sign_in_log(http_request, tenant):
    guest = GuestFactory(tenant=tenant, account=AccountFactory(email="ann@proseware.example", is_active=False))
    with pytest.raises(FederationRefused) as refused:
        sign_in_federated(http_request, tenant=tenant, **claims())
    assert refused.value.code == "account_disabled"
    event = SignInEvent.objects.get(tenant=tenant)
    assert event.user == guest and event.result == "failure" and event.authentication_methods == ["federated"]


def test_the_session_records_a_federated_sign_in_with_the_partners_amr_and_tenant(http_request, tenant):
    account = sign_in_federated(http_request, tenant=tenant, amr=["pwd", "mfa", "mfa"],
                                home_tenant_id="7f6b0a59-45a5-4d1c-b7c5-6d1f1c1e9f11", **claims())
    response = federated_login_response(http_request, account, redirect_url="/t/tailwind/")
    assert response.status_code == 302 and response["Location"] == "/t/tailwind/"
    assert http_request.user == account
    assert session_authentication_methods(http_request, account, tenant) == {"federated"}
    federation = federated_sign_in_of(http_request, account)
    assert federation.issuer == ISSUER and federation.amr == ("mfa", "pwd")
    assert federation.home_tenant_id == "7f6b0a59-45a5-4d1c-b7c5-6d1f1c1e9f11"


def test_a_session_that_signed_in_otherwise_has_no_federated_sign_in(http_request, tenant):
    account = AccountFactory()
    assert federated_sign_in_of(http_request, account) is None
