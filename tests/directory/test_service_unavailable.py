"""When the cache (Redis) or the database is unreachable, requests get a clear 503, never a 500, and the
rate limits fail closed: nothing they guard runs while they cannot count (bench/drills/redis_down.py)."""

import json
import socket

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import IntegrityError, OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse

from directory import services
from directory.actors import Actor
from directory.unavailable import server_error
from tests.factories import PASSWORD, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def _take_cache_down(settings) -> None:
    settings.CACHES = {"default": {
        "BACKEND": "directory.unavailable.FailClosedRedisCache",
        "LOCATION": f"redis://127.0.0.1:{_closed_port()}/1",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }}


@pytest.fixture
def cache_down(settings):
    """The project's cache, pointed at a Redis that is not there."""
    _take_cache_down(settings)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """(Overrides the suite's: clearing a cache that is down is what these tests are about.)"""
    yield


def test_a_correct_password_is_not_evaluated_while_the_rate_limiter_is_down(cache_down):
    account = UserFactory().account
    client = Client(raise_request_exception=False)

    response = client.post(reverse("account_login"), {"login": account.email, "password": PASSWORD})

    assert response.status_code == 503
    assert response["Retry-After"]
    assert b"temporarily unavailable" in response.content
    assert SESSION_KEY not in client.session


def test_an_api_call_while_the_throttle_is_down_is_a_graph_503(settings):
    tenant = TenantFactory()
    _registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="App", application_permissions=["User.Read.All"])
    token = Client().post("/identity/o/api/token", {"grant_type": "client_credentials", "client_id": client_id,
                                                    "client_secret": secret, "scope": ".default"}).json()["access_token"]
    _take_cache_down(settings)
    client = Client(raise_request_exception=False)

    response = client.get("/v1.0/users", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["error"]["code"] == "serviceUnavailable"
    assert response["Retry-After"]


def test_a_database_outage_answers_503_with_the_apis_error_shape():
    request = RequestFactory().post("/v1.0/invitations")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)

    assert response.status_code == 503
    assert json.loads(response.content)["error"]["code"] == "serviceUnavailable"


def test_a_database_outage_answers_a_503_page_in_the_console():
    request = RequestFactory().post("/admin/invitations/invitation/add/")
    try:
        raise OperationalError("terminating connection due to administrator command")
    except OperationalError:
        response = server_error(request)

    assert response.status_code == 503
    assert b"Service unavailable" in response.content


def test_a_bug_is_still_a_500():
    request = RequestFactory().get("/home/")
    try:
        raise IntegrityError("duplicate key value violates unique constraint")
    except IntegrityError:
        response = server_error(request)

    assert response.status_code == 500
