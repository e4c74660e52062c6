"""The admin console signs in through allauth: one sign-in page, with its rate limits, lock-out and
messages, and the same password work for every attempt (no timing oracle)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from directory.models import Account
from tests.factories import PASSWORD, UserFactory
from tests.support.hashers import CountingArgon2PasswordHasher

pytestmark = pytest.mark.django_db

ADMIN_LOGIN_URL = reverse("admin:login")
ADMIN_INDEX_URL = reverse("admin:index")
LOGIN_URL = reverse("account_login")
TOO_MANY_FAILURES = "Too many failed login attempts. Try again later."


@pytest.fixture
def staff():
    account = UserFactory().account
    Account.objects.filter(pk=account.pk).update(is_staff=True, is_superuser=True)
    account.refresh_from_db()
    return account


def _is_signed_in(client) -> bool:
    return SESSION_KEY in client.session


def _admin_password_post(client, email: str, password: str):
    return client.post(f"{ADMIN_LOGIN_URL}?next={ADMIN_INDEX_URL}",
                       {"username": email, "password": password, "next": ADMIN_INDEX_URL})


def test_admin_login_page_sends_to_the_allauth_sign_in_page_with_next_admin(client):
    response = client.get(f"{ADMIN_LOGIN_URL}?next={ADMIN_INDEX_URL}")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == LOGIN_URL
    assert parse_qs(location.query) == {"next": [ADMIN_INDEX_URL]}


def test_admin_index_for_a_stranger_ends_on_the_allauth_sign_in_page(client):
    response = client.get(ADMIN_INDEX_URL, follow=True)

    assert response.redirect_chain[-1][0] == f"{LOGIN_URL}?next={ADMIN_INDEX_URL.replace('/', '%2F')}"
    assert response.status_code == 200


def test_admin_login_page_does_not_accept_a_posted_password(client, staff):
    response = _admin_password_post(client, staff.email, PASSWORD)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN_URL
    assert not _is_signed_in(client)


def test_fifteen_wrong_admin_passwords_then_the_right_one_does_not_sign_in(client, staff):
    for attempt in range(15):
        _admin_password_post(client, staff.email, f"wrong-password-{attempt}")

    response = _admin_password_post(client, staff.email, PASSWORD)

    assert urlsplit(response["Location"]).path == LOGIN_URL
    assert not _is_signed_in(client)
    assert client.get(ADMIN_INDEX_URL).status_code == 302


def test_wrong_passwords_on_the_admin_sign_in_lock_the_account_out(client, staff):
    # The page /admin/ sends people to is allauth's: "login_failed" 5/5m/key applies.
    sign_in_url = client.get(ADMIN_INDEX_URL, follow=True).redirect_chain[-1][0]
    for attempt in range(5):
        client.post(sign_in_url, {"login": staff.email, "password": f"wrong-password-{attempt}"})

    response = client.post(sign_in_url, {"login": staff.email, "password": PASSWORD})

    assert response.status_code == 200
    assert TOO_MANY_FAILURES in response.content.decode()
    assert not _is_signed_in(client)


def test_staff_signs_in_to_the_admin_console_through_allauth(client, staff):
    sign_in_url = client.get(ADMIN_INDEX_URL, follow=True).redirect_chain[-1][0]

    response = client.post(sign_in_url, {"login": staff.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX_URL
    assert client.get(ADMIN_INDEX_URL).status_code == 200


def test_signed_in_staff_opening_the_admin_login_page_goes_to_the_admin(client, staff):
    client.force_login(staff)

    response = client.get(f"{ADMIN_LOGIN_URL}?next={ADMIN_INDEX_URL}")

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX_URL


# --- the same hashing work for every attempt --------------------------------------------------


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.support.hashers.CountingArgon2PasswordHasher"]
    CountingArgon2PasswordHasher.calls = 0
    return CountingArgon2PasswordHasher


def _guest_without_password() -> Account:
    return Account.objects.create_user("guest@partner.example", None)


@pytest.mark.parametrize(
    ("who", "password"),
    [
        ("member", "not-the-password-at-all"),
        ("member", PASSWORD),
        ("stranger", "not-the-password-at-all"),
        ("guest without a password", "not-the-password-at-all"),
    ],
)
def test_every_password_attempt_runs_the_password_hasher_exactly_once(client, counting_hasher, who, password):
    email = {
        "member": lambda: UserFactory().account.email,
        "stranger": lambda: "nobody@people.example",
        "guest without a password": lambda: _guest_without_password().email,
    }[who]()
    counting_hasher.calls = 0

    client.post(LOGIN_URL, {"login": email, "password": password})

    assert counting_hasher.calls == 1
    assert _is_signed_in(client) == (who == "member" and password == PASSWORD)
