"""Signing in: e-mail + password, e-mailed login codes, password storage, rate limits.

Everything goes through allauth's real views (``account_login``, ``account_request_login_code``,
``account_confirm_login_code``) with the project's settings and adapter; mail is read from the outbox.
"""

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from directory import services
from directory.actors import Actor
from directory.models import Account, OutboxMessage
from tests.factories import PASSWORD, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("account_login")
REQUEST_CODE_URL = reverse("account_request_login_code")
CONFIRM_CODE_URL = reverse("account_confirm_login_code")
HOME_URL = reverse("home")
STRONG_PASSWORD = "Plum-Orchard-Lantern-42"

# Never a valid code: allauth's alphabet has no vowels, and numeric codes have no letters.
WRONG_CODE = "AAAA-AAAA"

# allauth keeps the pending login (and the login-by-code state inside it) in the session.
LOGIN_STASH_KEY = "account_login"
CODE_STAGE = "login_by_code"


# --- helpers ----------------------------------------------------------------------------------


def _member(**kwargs) -> Account:
    """A member's account with a verified primary address (UserFactory adds it, as the services do)."""
    account = UserFactory(**kwargs).account
    assert EmailAddress.objects.filter(user=account, verified=True, primary=True).exists()
    return account


def _is_signed_in(client, account=None) -> bool:
    user_id = client.session.get(SESSION_KEY)
    if user_id is None:
        return False
    return account is None or str(user_id) == str(account.pk)


def _password_login(client, email: str, password: str):
    return client.post(LOGIN_URL, {"login": email, "password": password})


def _request_code(client, email: str):
    return client.post(REQUEST_CODE_URL, {"email": email})


def _code_state(client) -> dict:
    return client.session[LOGIN_STASH_KEY]["state"]["stages"][CODE_STAGE]["data"]


def _mails_to_list(email: str) -> list[OutboxMessage]:
    """Outbox messages addressed to ``email``, oldest first (filtered in Python: SQLite has no
    JSON containment lookup)."""
    return [m for m in OutboxMessage.objects.order_by("created_at") if email in m.to]


def _code_from_latest_mail(email: str) -> str:
    """The code from the newest login-code mail to ``email``; it must be the one allauth expects."""
    messages = _mails_to_list(email)
    assert messages, f"no mail was written to {email}"
    body = messages[-1].body_text
    if "[redacted]" in body:  # delivered already (the stored copy keeps no code): read what was sent
        from django.core import mail

        sent = [m for m in mail.outbox if m.extra_headers.get("X-Portal-Message-Id") == str(messages[-1].pk)]
        assert sent, "the stored copy is redacted but the sent message is not in the test outbox"
        body = sent[-1].body
    # allauth's codes are upper-case letters/digits, dashed for readability (e.g. "KXGT-BMNR").
    found = re.findall(r"^\s*([A-Z0-9]{2,}(?:-[A-Z0-9]{2,})*)\s*$", body, flags=re.MULTILINE)
    assert found, f"no code in the mail body:\n{body}"
    return found[0]


def _age_code(client, seconds: float) -> None:
    """Time travel: make the pending code look ``seconds`` older (allauth keeps its issue time in the
    login stash in the session, ``...["login_by_code"]["data"]["at"]``, compared with time.time())."""
    session = client.session
    stash = session[LOGIN_STASH_KEY]
    stash["state"]["stages"][CODE_STAGE]["data"]["at"] -= seconds
    session[LOGIN_STASH_KEY] = stash
    session.save()


def _confirm(client, code: str):
    return client.post(CONFIRM_CODE_URL, {"code": code})


# --- 1. e-mail + password ---------------------------------------------------------------------


def test_member_signs_in_with_email_and_password(client):
    account = _member()

    response = _password_login(client, account.email, PASSWORD)

    assert response.status_code == 302
    assert response.url == HOME_URL
    assert _is_signed_in(client, account)
    assert client.get(HOME_URL).status_code == 200


def test_email_is_matched_case_insensitively_at_password_sign_in(client):
    account = _member()

    _password_login(client, account.email.upper(), PASSWORD)

    assert _is_signed_in(client, account)


def test_wrong_password_is_refused_with_a_message_and_no_session(client):
    account = _member()

    response = _password_login(client, account.email, "not-the-password-at-all")

    assert response.status_code == 200  # the form again, not a redirect
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert not _is_signed_in(client)
    assert client.get(HOME_URL).status_code == 302  # still sent to the sign-in page


def test_unknown_address_is_refused_like_a_wrong_password(client):
    _member()

    response = _password_login(client, "nobody@people.example", PASSWORD)

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in response.content.decode()
    assert not _is_signed_in(client)


# --- 2./3. how passwords are stored -----------------------------------------------------------


def test_member_password_set_by_user_create_is_stored_with_argon2(client):
    tenant = TenantFactory()
    user = services.user_create(
        actor=Actor.operator(), tenant=tenant, display_name="Ann", user_principal_name=f"ann@{tenant.initial_domain}",
        password=STRONG_PASSWORD,
    )

    account = Account.objects.get(pk=user.account_id)
    assert account.password.startswith("argon2")
    assert STRONG_PASSWORD not in account.password
    assert account.check_password(STRONG_PASSWORD)


def test_member_created_with_a_password_signs_in_with_it(client):
    tenant = TenantFactory()
    upn = f"ann@{tenant.initial_domain}"
    services.user_create(actor=Actor.operator(), tenant=tenant, display_name="Ann", user_principal_name=upn,
                         password=STRONG_PASSWORD)

    _password_login(client, upn, STRONG_PASSWORD)

    assert _is_signed_in(client, Account.objects.get(email=upn))


def test_account_without_a_password_has_an_unusable_one_not_a_blank_one():
    account = Account.objects.create_user("guest@partner.example", None)

    account.refresh_from_db()
    assert account.has_usable_password() is False
    assert account.password != ""
    assert account.check_password("") is False


def test_account_without_a_password_cannot_sign_in_with_any_password(client):
    account = Account.objects.create_user("guest@partner.example", None)

    for guess in ("", "!", account.password):
        response = _password_login(client, account.email, guess)
        assert not _is_signed_in(client)
        assert response.status_code == 200


# --- 4. login by e-mailed code ----------------------------------------------------------------


def test_requesting_a_code_writes_it_to_the_outbox_for_that_address(client):
    account = _member()

    response = _request_code(client, account.email)

    assert response.status_code == 302
    assert response.url == CONFIRM_CODE_URL
    [message] = _mails_to_list(account.email)
    assert message.to == [account.email]
    assert message.status == OutboxMessage.Status.PENDING
    code = _code_from_latest_mail(account.email)
    assert code == _code_state(client)["code"]
    assert not _is_signed_in(client)  # requesting a code alone signs nobody in


def test_entering_the_emailed_code_signs_in(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)

    response = _confirm(client, code)

    assert response.status_code == 302
    assert response.url == HOME_URL
    assert _is_signed_in(client, account)


def test_code_is_accepted_just_before_ten_minutes(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)

    _age_code(client, settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT - 10)
    _confirm(client, code)

    assert settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT == 600
    assert _is_signed_in(client, account)


def test_code_expires_after_ten_minutes(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)

    _age_code(client, 10 * 60 + 1)
    response = _confirm(client, code)

    assert response.status_code == 302
    assert response.url == REQUEST_CODE_URL  # back to "send me a code"
    assert not _is_signed_in(client)
    assert LOGIN_STASH_KEY not in client.session  # the expired login is thrown away


def test_wrong_code_is_refused_and_the_right_one_still_works_before_the_limit(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)

    for _ in range(settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS - 1):
        response = _confirm(client, WRONG_CODE)
        assert response.status_code == 200
        assert "Incorrect code." in response.content.decode()
        assert not _is_signed_in(client)

    _confirm(client, code)
    assert _is_signed_in(client, account)


def test_after_five_wrong_codes_even_the_right_code_no_longer_works(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)

    assert settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS == 5
    for _ in range(4):
        assert _confirm(client, WRONG_CODE).status_code == 200
    fifth = _confirm(client, WRONG_CODE)
    assert fifth.status_code == 302
    assert fifth.url == REQUEST_CODE_URL

    response = _confirm(client, code)

    assert response.status_code == 302
    assert response.url == REQUEST_CODE_URL
    assert not _is_signed_in(client)


def test_requesting_a_new_code_voids_the_old_one(client):
    # "Request new code" on the confirmation page (allauth's ``action=resend``) replaces the code kept
    # in the pending login's state.
    account = _member()
    _request_code(client, account.email)
    old_code = _code_from_latest_mail(account.email)

    response = client.post(CONFIRM_CODE_URL, {"action": "resend"})

    assert response.status_code == 302
    assert len(_mails_to_list(account.email)) == 2, "no new code was sent"
    new_code = _code_from_latest_mail(account.email)
    assert new_code != old_code
    refused = _confirm(client, old_code)
    assert refused.status_code == 200
    assert "Incorrect code." in refused.content.decode()
    assert not _is_signed_in(client)
    _confirm(client, new_code)
    assert _is_signed_in(client, account)


def test_cancelling_and_requesting_again_voids_the_old_code(client):
    # Without "Request new code", a person cancels (the confirmation page's Cancel logs out of the
    # pending stage) and asks again; only the newest code works.
    account = _member()
    _request_code(client, account.email)
    old_code = _code_from_latest_mail(account.email)
    client.post(reverse("account_logout"), {"next": LOGIN_URL})
    _request_code(client, account.email)
    new_code = _code_from_latest_mail(account.email)
    assert new_code != old_code

    refused = _confirm(client, old_code)
    assert refused.status_code == 200
    assert "Incorrect code." in refused.content.decode()
    assert not _is_signed_in(client)
    _confirm(client, new_code)
    assert _is_signed_in(client, account)


def test_login_code_has_six_characters(client):
    # config/settings/base.py: "our choice is a 6-character code".
    account = _member()
    _request_code(client, account.email)

    code = _code_from_latest_mail(account.email)

    assert len(code.replace("-", "")) == 6, code


def test_code_is_bound_to_the_browser_that_requested_it(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)

    other = Client()
    response = _confirm(other, code)

    assert response.status_code == 302
    assert not _is_signed_in(other)


# --- 5. no enumeration ------------------------------------------------------------------------


def test_requesting_a_code_for_an_unknown_address_looks_the_same_and_mails_nothing(client):
    account = _member()
    known = _request_code(Client(), account.email)

    unknown_address = "nobody@people.example"
    unknown = _request_code(client, unknown_address)

    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert not _mails_to_list(unknown_address)
    # The confirmation page that follows is the same page, and no code will ever sign anyone in.
    page = client.get(unknown.url)
    assert page.status_code == 200
    assert not _is_signed_in(client)
    _confirm(client, WRONG_CODE)
    assert not _is_signed_in(client)


# --- 6. rate limits ---------------------------------------------------------------------------


TOO_MANY_FAILURES = "Too many failed login attempts. Try again later."


def test_repeated_wrong_passwords_lock_the_account_out_even_for_the_right_password(client):
    # "login_failed": "5/5m/key": five wrong passwords for one address, then the sixth try is refused
    # whatever the password.
    account = _member()
    for attempt in range(5):
        response = _password_login(client, account.email, f"wrong-password-{attempt}")
        assert "not correct" in response.content.decode()

    response = _password_login(client, account.email, PASSWORD)

    assert response.status_code == 200
    assert TOO_MANY_FAILURES in response.content.decode()
    assert not _is_signed_in(client)


def test_password_lockout_is_per_account(client):
    victim = _member()
    bystander = _member()
    for attempt in range(6):
        _password_login(client, victim.email, f"wrong-password-{attempt}")

    _password_login(client, bystander.email, PASSWORD)

    assert _is_signed_in(client, bystander)


def test_rate_limit_counters_live_in_the_configured_cache(client):
    account = _member()
    for attempt in range(6):
        _password_login(client, account.email, f"wrong-password-{attempt}")
    assert TOO_MANY_FAILURES in _password_login(client, account.email, PASSWORD).content.decode()

    cache.clear()  # the counters are in the default cache (Redis when REDIS_URL is set)

    _password_login(client, account.email, PASSWORD)
    assert _is_signed_in(client, account)


def test_configured_cache_is_redis_when_redis_url_is_set():
    backend = settings.CACHES["default"]["BACKEND"]
    if settings.REDIS_URL:
        from django.core.cache.backends.redis import RedisCache
        from django.utils.module_loading import import_string

        assert issubclass(import_string(backend), RedisCache)  # Redis, failing closed when it is down
        cache.set("sign-in-test-probe", 1, 5)
        assert cache.get("sign-in-test-probe") == 1
    else:
        assert backend == "django.core.cache.backends.locmem.LocMemCache"


def test_flood_of_sign_in_posts_from_one_address_gets_http_429(client):
    # "login": "30/m/ip" guards the view itself: the 31st POST within a minute is answered 429.
    statuses = [
        _password_login(client, f"person{n}@nowhere.example", "whatever-password").status_code
        for n in range(31)
    ]

    assert statuses[:30] == [200] * 30
    assert statuses[30] == 429


def test_requesting_codes_for_one_address_is_rate_limited():
    account = _member()
    for _ in range(3):  # "3/m/key", each request from a fresh browser
        assert _request_code(Client(), account.email).status_code == 302

    response = _request_code(Client(), account.email)

    assert response.status_code == 200
    assert TOO_MANY_FAILURES in response.content.decode()
    assert len(_mails_to_list(account.email)) == 3
