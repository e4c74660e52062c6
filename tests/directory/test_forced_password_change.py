"""A password an administrator chose is changed by its owner at the next sign-in (Graph's passwordProfile
forceChangePasswordNextSignIn, …WithMfa; issue 9, found by probing the API: the flag was accepted and ignored)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from directory.models import Account, User
from tests.factories import PASSWORD, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "A-different-passphrase-of-mine-7"


def _must_change(tenant, *, with_mfa: bool = False) -> User:
    member = UserFactory(tenant=tenant)
    Account.objects.filter(pk=member.account_id).update(password_change_required=True,
                                                        password_change_requires_mfa=with_mfa)
    return member


def _signed_in(member) -> tuple[Client, str]:
    client = Client()
    panel = reverse("directory:panel", args=[member.tenant.slug])
    response = client.post(f"{reverse('account_login')}?next={panel}",
                           {"login": member.user_principal_name, "password": PASSWORD})
    assert response.status_code == 302
    return client, response["Location"]


def test_signing_in_with_an_administrators_password_leads_to_choosing_ones_own_first():
    member = _must_change(TenantFactory())
    client, location = _signed_in(member)
    panel = reverse("directory:panel", args=[member.tenant.slug])

    assert urlsplit(location).path == reverse("directory:password_change", args=[member.tenant.slug])
    assert parse_qs(urlsplit(location).query)["next"] == [panel]
    entered = client.get(panel)
    assert entered.status_code == 302 and entered["Location"] == location  # every page asks the same, first
    page = client.get(location)
    assert page.status_code == 200 and b"Choose a new password" in page.content


def test_the_new_password_must_be_a_new_one_and_the_current_one_known():
    member = _must_change(TenantFactory())
    client, location = _signed_in(member)

    same = client.post(location, {"oldpassword": PASSWORD, "password1": PASSWORD, "password2": PASSWORD})
    wrong = client.post(location, {"oldpassword": "not-it", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert same.status_code == 400 and b"not the one you were given" in same.content
    assert wrong.status_code == 400
    assert Account.objects.get(pk=member.account_id).password_change_required


def test_choosing_a_new_password_clears_the_requirement_and_lets_the_person_in():
    member = _must_change(TenantFactory())
    client, location = _signed_in(member)
    panel = reverse("directory:panel", args=[member.tenant.slug])

    done = client.post(location, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
                                  "next": panel})

    assert done.status_code == 302 and done["Location"] == panel
    account = Account.objects.get(pk=member.account_id)
    assert not account.password_change_required and account.check_password(NEW_PASSWORD)
    assert client.get(panel).status_code == 200  # still signed in, and in


def test_with_mfa_the_person_proves_a_second_factor_before_choosing_a_password():
    member = _must_change(TenantFactory(), with_mfa=True)
    _client, location = _signed_in(member)

    assert urlsplit(location).path == reverse("directory:mfa_challenge", args=[member.tenant.slug])


def test_a_person_without_the_requirement_never_sees_the_page():
    member = UserFactory(tenant=TenantFactory())
    client, location = _signed_in(member)
    page = reverse("directory:password_change", args=[member.tenant.slug])

    assert location == reverse("directory:panel", args=[member.tenant.slug])
    assert client.get(page).status_code == 302


def test_with_mfa_the_password_page_itself_sends_to_mfa_first():
    member = _must_change(TenantFactory(), with_mfa=True)
    client, _location = _signed_in(member)
    page = reverse("directory:password_change", args=[member.tenant.slug])

    shown = client.get(page)
    posted = client.post(page, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    for response in (shown, posted):
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == reverse("directory:mfa_challenge", args=[member.tenant.slug])
    assert Account.objects.get(pk=member.account_id).check_password(PASSWORD)  # unchanged before MFA


def test_the_page_changes_no_password_for_someone_who_need_not():
    member = UserFactory(tenant=TenantFactory())
    client, _location = _signed_in(member)

    response = client.post(reverse("directory:password_change", args=[member.tenant.slug]),
                           {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    assert Account.objects.get(pk=member.account_id).check_password(PASSWORD)
