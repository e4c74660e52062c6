"""One rule decides who gets an e-mailed sign-in code, on the tenant's sign-in page and on the
platform-wide code page alike. As in Entra, switching a tenant's e-mail one-time passcode off stops
new OTP redemptions and locks out the tenant's existing OTP guests; members keep their codes."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from directory.actors import Actor
from directory.models import Account, OutboxMessage, User
from policies import services as policy_services
from policies.selectors import code_sign_in_allowed
from tests.factories import GuestFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

PLATFORM_CODE_URL = reverse("account_request_login_code")
CONFIRM_CODE_URL = reverse("account_confirm_login_code")


def _otp_guest(*tenants, email="otp.guest@partner.example") -> Account:
    """An account that redeemed by code in each of ``tenants``: no password, a verified address."""
    account = Account.objects.create_user(email, None)
    EmailAddress.objects.create(user=account, email=email, verified=True, primary=True)
    for tenant in tenants:
        GuestFactory(tenant=tenant, mail=email, account=account,
                     external_user_state=User.ExternalUserState.ACCEPTED)
    return account


def _otp_off(tenant) -> None:
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                  changes={"email_otp_enabled": False})


def _codes_sent_to(email: str) -> int:
    return sum(1 for m in OutboxMessage.objects.all() if email in m.to)


def test_otp_guest_gets_a_code_on_both_pages_while_otp_is_on(tenant):
    guest = _otp_guest(tenant)

    Client().post(PLATFORM_CODE_URL, {"email": guest.email})
    Client().post(f"/t/{tenant.slug}/sign-in/", {"email": guest.email})

    assert _codes_sent_to(guest.email) == 2


def test_otp_switched_off_locks_the_tenants_otp_guests_out_of_the_platform_code_page(tenant):
    guest = _otp_guest(tenant)
    _otp_off(tenant)
    client = Client()
    stranger = Client().post(PLATFORM_CODE_URL, {"email": "nobody@nowhere.example"})

    response = client.post(PLATFORM_CODE_URL, {"email": guest.email})

    assert (response.status_code, response["Location"]) == (stranger.status_code, stranger["Location"])
    assert _codes_sent_to(guest.email) == 0
    client.post(CONFIRM_CODE_URL, {"code": "AAAA-AAAA"})
    assert SESSION_KEY not in client.session


def test_otp_switched_off_locks_the_tenants_otp_guests_out_of_the_tenant_sign_in_page(tenant):
    guest = _otp_guest(tenant)
    _otp_off(tenant)

    Client().post(f"/t/{tenant.slug}/sign-in/", {"email": guest.email})

    assert _codes_sent_to(guest.email) == 0


def test_guest_of_another_tenant_with_otp_on_still_signs_in_on_the_platform_page(tenant):
    other = TenantFactory()
    guest = _otp_guest(tenant, other)
    _otp_off(tenant)

    Client().post(PLATFORM_CODE_URL, {"email": guest.email})
    Client().post(f"/t/{tenant.slug}/sign-in/", {"email": guest.email})

    assert _codes_sent_to(guest.email) == 1  # the platform page's; the switched-off tenant's page sent none


def test_members_keep_their_codes_when_otp_is_off(tenant):
    member = UserFactory(tenant=tenant).account
    _otp_off(tenant)

    Client().post(PLATFORM_CODE_URL, {"email": member.email})
    Client().post(f"/t/{tenant.slug}/sign-in/", {"email": member.email})

    assert _codes_sent_to(member.email) == 2


def test_rule_answers_for_the_platform_and_for_each_tenant(tenant):
    other = TenantFactory()
    guest = _otp_guest(tenant)
    _otp_off(other)  # a tenant the guest does not belong to changes nothing

    assert code_sign_in_allowed(account=guest, tenant=tenant)
    assert code_sign_in_allowed(account=guest)
    assert not code_sign_in_allowed(account=guest, tenant=other)
    _otp_off(tenant)
    assert not code_sign_in_allowed(account=guest, tenant=tenant)
    assert not code_sign_in_allowed(account=guest)


def test_disabled_guest_gets_no_code_anywhere(tenant):
    guest = _otp_guest(tenant)
    User.objects.filter(account=guest).update(account_enabled=False)

    Client().post(PLATFORM_CODE_URL, {"email": guest.email})
    Client().post(f"/t/{tenant.slug}/sign-in/", {"email": guest.email})

    assert _codes_sent_to(guest.email) == 0


def _sign_in_by_code(client, tenant, email) -> None:
    client.post(f"/t/{tenant.slug}/sign-in/", {"email": email})
    import re

    message = [m for m in OutboxMessage.objects.order_by("created_at") if email in m.to][-1]
    code = re.findall(r"^\s*([A-Z0-9]{2,}(?:-[A-Z0-9]{2,})*)\s*$", message.body_text, flags=re.MULTILINE)[0]
    client.post(CONFIRM_CODE_URL, {"code": code})
    assert SESSION_KEY in client.session


def test_a_code_session_from_one_tenant_does_not_open_a_tenant_that_switched_codes_off(tenant):
    """A guest of A (OTP off) and B (OTP on) signs in by code on B's page: B's panel opens, A's does not."""
    other = TenantFactory()
    guest = _otp_guest(tenant, other)
    _otp_off(tenant)
    client = Client()
    _sign_in_by_code(client, other, guest.email)
    assert client.get(f"/t/{other.slug}/").status_code == 200
    refused = client.get(f"/t/{tenant.slug}/")
    assert refused.status_code == 403
    assert "no longer accepts sign-in with a one-time passcode" in refused.content.decode()


def test_switching_codes_off_ends_an_otp_guests_way_into_the_panel_at_once(tenant):
    guest = _otp_guest(tenant)
    client = Client()
    _sign_in_by_code(client, tenant, guest.email)
    assert client.get(f"/t/{tenant.slug}/").status_code == 200
    _otp_off(tenant)
    assert client.get(f"/t/{tenant.slug}/").status_code == 403
