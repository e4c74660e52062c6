"""Tokens from our own OAuth server, and a client that calls the API with them."""

import pytest
from rest_framework.test import APIClient

from directory import services
from directory.actors import Actor
from tests.factories import TenantFactory


@pytest.fixture
def api_tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


def issue_app_token(client, client_id: str, secret: str) -> str:
    response = client.post("/identity/o/api/token", {
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
        "scope": ".default"})
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def app_token_for(client):
    """app_token_for(tenant, permissions) → a bearer token of a new app registration with them."""

    def make(tenant, permissions, **kwargs):
        _registration, client_id, secret = services.app_registration_create(
            actor=Actor.operator(), tenant=tenant, display_name="Test app", application_permissions=permissions, **kwargs)
        return issue_app_token(client, client_id, secret)

    return make


@pytest.fixture
def delegated_token_for():
    """delegated_token_for(user, scopes) → an access token issued to ``user`` through an app of its
    tenant (as the authorization-code flow would issue it)."""
    from datetime import timedelta

    from allauth.idp.oidc.adapter import get_adapter
    from allauth.idp.oidc.models import Token
    from django.utils import timezone

    def make(user, scopes, app_delegated=None):
        registration, _client_id, _secret = services.app_registration_create(
            actor=Actor.operator(), tenant=user.tenant, display_name="Delegated app",
            delegated_permissions=app_delegated if app_delegated is not None else scopes,
            redirect_uris=["https://app.example/callback"])
        import secrets

        value = secrets.token_urlsafe(32)
        token = Token(type=Token.Type.ACCESS_TOKEN, client=registration.client, user=user.account,
                      expires_at=timezone.now() + timedelta(hours=1))
        token.hash = get_adapter().hash_token(value)
        token.set_scopes(scopes)
        token.save()
        return value

    return make


@pytest.fixture
def api():
    def make(token=None):
        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return make


@pytest.fixture(autouse=True)
def _asyncio_run_beside_playwright(monkeypatch):
    """Playwright's sync API keeps an event loop running in the main thread for the rest of the session once a
    browser test has run (pytest-django runs the browser tests before the live-server SDK tests), and
    ``asyncio.run`` refuses to start another loop there: the SDK tests' coroutines then run in a thread of
    their own (they only talk HTTP to the live server)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    real_run = asyncio.run

    def run(main, **kwargs):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return real_run(main, **kwargs)
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(real_run, main, **kwargs).result()

    monkeypatch.setattr(asyncio, "run", run)
