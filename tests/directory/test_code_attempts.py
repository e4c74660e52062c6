"""At most five guesses per e-mailed sign-in code, whatever the concurrency.

allauth counts wrong codes in the pending login it keeps in the session; parallel requests each read
the same count. These tests make requests that carry the same session state, as parallel ones do."""

import threading

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.urls import reverse

from directory.codes import CodeAttempts
from tests.directory.test_sign_in import (
    LOGIN_STASH_KEY,
    REQUEST_CODE_URL,
    WRONG_CODE,
    _code_from_latest_mail,
    _confirm,
    _member,
    _request_code,
)

pytestmark = pytest.mark.django_db


def _replay(client, stash: dict) -> None:
    """Put the pending login back as it was when the code was sent: what every one of a burst of
    parallel requests reads from the session."""
    session = client.session
    session[LOGIN_STASH_KEY] = stash
    session.save()


def test_counter_lets_exactly_five_of_twenty_concurrent_guesses_through():
    attempts = CodeAttempts(key="test-concurrent-guesses", limit=5, timeout=60)
    barrier = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def guess():
        barrier.wait()
        allowed = attempts.take()
        with lock:
            results.append(allowed)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 20
    assert results.count(True) == 5


def test_counter_is_per_pending_code():
    first = CodeAttempts.for_pending_code({"user_id": "1", "email": "a@x.example", "at": 1.0, "code": "ABC123"},
                                          limit=5, timeout=60)
    second = CodeAttempts.for_pending_code({"user_id": "1", "email": "a@x.example", "at": 1.0, "code": "XYZ789"},
                                           limit=5, timeout=60)
    for _ in range(5):
        assert first.take()

    assert not first.take()
    assert second.take()
    assert "ABC123" not in first.key  # the cache never holds the code itself


def test_right_code_is_refused_after_five_wrong_guesses_sent_in_parallel(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)
    stash = client.session[LOGIN_STASH_KEY]

    for _ in range(settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS):
        _replay(client, stash)
        _confirm(client, WRONG_CODE)

    _replay(client, stash)
    response = _confirm(client, code)

    assert response.status_code == 302
    assert response.url == REQUEST_CODE_URL
    assert SESSION_KEY not in client.session
    assert LOGIN_STASH_KEY not in client.session  # the pending sign-in is over


def test_thirty_parallel_wrong_guesses_get_five_evaluations(client):
    account = _member()
    _request_code(client, account.email)
    stash = client.session[LOGIN_STASH_KEY]

    answers = []
    for _ in range(30):
        _replay(client, stash)
        answers.append(_confirm(client, WRONG_CODE))

    # Four "Incorrect code." pages, then the fifth guess ends the pending sign-in; all the others
    # are turned away without their code being compared.
    incorrect = [r for r in answers if r.status_code == 200 and "Incorrect code." in r.content.decode()]
    assert len(incorrect) == settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS - 1
    assert all(r.status_code == 302 and r.url == REQUEST_CODE_URL for r in answers[4:])


def test_four_wrong_guesses_in_parallel_still_leave_the_right_code_working(client):
    account = _member()
    _request_code(client, account.email)
    code = _code_from_latest_mail(account.email)
    stash = client.session[LOGIN_STASH_KEY]
    for _ in range(settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS - 1):
        _replay(client, stash)
        _confirm(client, WRONG_CODE)

    _replay(client, stash)
    response = _confirm(client, code)

    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session[SESSION_KEY] == str(account.pk)


def test_a_new_code_gets_its_own_five_guesses(client):
    account = _member()
    _request_code(client, account.email)
    stash = client.session[LOGIN_STASH_KEY]
    for _ in range(settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS):
        _replay(client, stash)
        _confirm(client, WRONG_CODE)
    client.post(reverse("account_logout"), {"next": reverse("account_login")})

    _request_code(client, account.email)
    _confirm(client, _code_from_latest_mail(account.email))

    assert client.session[SESSION_KEY] == str(account.pk)


@pytest.mark.django_db(transaction=True)
def test_twenty_truly_concurrent_wrong_guesses_leave_the_right_code_refused():
    from django.db import connection
    from django.test import Client

    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests need PostgreSQL (set DATABASE_URL); SQLite serialises writers")
    account = _member()
    first = Client()
    _request_code(first, account.email)
    code = _code_from_latest_mail(account.email)
    cookie = first.cookies[settings.SESSION_COOKIE_NAME].value
    barrier = threading.Barrier(20)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess():
        from django.db import connection as thread_connection

        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = cookie  # the same pending sign-in for all
        try:
            barrier.wait()
            status = _confirm(client, WRONG_CODE).status_code
        finally:
            thread_connection.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 20
    assert statuses.count(200) <= settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS - 1  # "Incorrect code." pages

    late = Client()
    late.cookies[settings.SESSION_COOKIE_NAME] = cookie
    _confirm(late, code)
    assert SESSION_KEY not in late.session
