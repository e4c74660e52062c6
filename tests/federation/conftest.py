import pytest
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.test import RequestFactory

from tests.factories import TenantFactory


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


@pytest.fixture
def http_request():
    """A request with a session, messages and an anonymous user, as the middleware would give a view."""
    request = RequestFactory().get("/t/tailwind/federation/callback", REMOTE_ADDR="203.0.113.9")
    for middleware in (SessionMiddleware, AuthenticationMiddleware, MessageMiddleware):
        middleware(lambda r: None).process_request(request)
    from allauth.core import context

    with context.request_context(request):
        yield request
