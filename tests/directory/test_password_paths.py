"""Accounts that sign in by e-mailed code or through federation (no usable password) have no password
path: they cannot set, change or reset one. Members keep theirs."""

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from directory.models import Account, OutboxMessage
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Plum-Orchard-Lantern-42"
SET_URL = reverse("account_set_password")
CHANGE_URL = reverse("account_change_password")
RESET_URL = reverse("account_reset_password")
LOGIN_URL = reverse("account_login")


@pytest.fixture
def guest() -> Account:
    """An account that signs in by code: no usable password, a verified address."""
    from allauth.account.models import EmailAddress

    account = Account.objects.create_user("guest@partner.example", None)
    EmailAddress.objects.create(user=account, email=account.email, verified=True, primary=True)
    return account


def _mails_to(email: str) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.objects.all() if email in m.to]


def test_guest_cannot_give_themselves_a_password_and_then_sign_in_with_it(client, guest):
    client.force_login(guest)

    page = client.get(SET_URL)
    post = client.post(SET_URL, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert page.status_code == 403
    assert post.status_code == 403
    guest.refresh_from_db()
    assert not guest.has_usable_password()
    other = client.__class__()
    other.post(LOGIN_URL, {"login": guest.email, "password": NEW_PASSWORD})
    assert SESSION_KEY not in other.session


def test_guest_password_change_page_leads_nowhere(client, guest):
    client.force_login(guest)

    response = client.post(CHANGE_URL, {"oldpassword": "", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
                           follow=True)

    assert response.status_code == 403
    guest.refresh_from_db()
    assert not guest.has_usable_password()


def test_password_reset_for_a_guest_answers_like_an_unknown_address_and_mails_nothing(client, guest):
    stranger = client.__class__().post(RESET_URL, {"email": "nobody@nowhere.example"})

    response = client.post(RESET_URL, {"email": guest.email})

    assert (response.status_code, response["Location"]) == (stranger.status_code, stranger["Location"])
    assert _mails_to(guest.email) == []


def test_reset_link_made_for_a_guest_is_refused(client, guest):
    # A link minted before this rule existed (or by any other means) still sets no password.
    key = default_token_generator.make_token(guest)
    url = reverse("account_reset_password_from_key", kwargs={"uidb36": user_pk_to_url_str(guest), "key": key})

    landing = client.get(url, follow=True)
    client.post(landing.redirect_chain[-1][0] if landing.redirect_chain else url,
                {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert landing.context.get("token_fail") is True
    guest.refresh_from_db()
    assert not guest.has_usable_password()


def test_member_still_resets_a_forgotten_password_by_mail(client):
    member = UserFactory().account

    client.post(RESET_URL, {"email": member.email})

    [message] = _mails_to(member.email)
    assert "/accounts/password/reset/key/" in message.body_text


def test_member_still_changes_their_password(client):
    member = UserFactory().account
    client.force_login(member)

    response = client.post(CHANGE_URL, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD,
                                        "password2": NEW_PASSWORD})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
