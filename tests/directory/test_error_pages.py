"""Issue 10: never Django's default pages. 400, 403, 404 and the CSRF page are the project's (in the
tenant's branding under /t/<tenant>/), the 500 renders without a database, a guest at /admin/ is pointed to
their access panels, "no access" offers another account and lists the person's organizations."""

import re

import pytest
from django.core.exceptions import SuspiciousOperation
from django.test import Client, RequestFactory
from django.urls import include, path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401  (the urlconf's handlers)
from directory.models import Branding
from directory.unavailable import server_error
from tests.factories import GuestFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _suspicious(request, **kwargs):
    raise SuspiciousOperation("a malformed request")


# The project's URLs and handlers, plus two views that raise a 400.
urlpatterns = [path("t/<slug:slug>/broken/", _suspicious), path("broken/", _suspicious), path("", include("config.urls"))]


@pytest.fixture
def tenant():
    tenant = TenantFactory(name="Tailwind Traders", slug="tailwind")
    Branding.objects.create(tenant=tenant, locale="", accent_color="#038387")
    return tenant


def test_a_missing_page_under_a_tenant_is_the_tenants_404(client, tenant):
    response = client.get("/t/tailwind/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404 and "Page not found" in body
    assert "Tailwind Traders" in body and "#038387" in body and 'href="/t/tailwind/"' in body
    assert "Not Found</h1>" not in body  # Django's default page


def test_a_missing_page_elsewhere_and_an_unknown_tenant_are_the_products_404(client, tenant):
    for url in ("/no-such-page/", "/t/nobody/"):
        response = client.get(url)
        body = response.content.decode()
        assert response.status_code == 404 and "Page not found" in body and "B2B Portal" in body
        assert "#038387" not in body


def test_a_bad_request_is_the_projects_400(settings, client, tenant):
    settings.ROOT_URLCONF = "tests.directory.test_error_pages"
    response = client.get("/t/tailwind/broken/")
    assert response.status_code == 400 and "could not be understood" in response.content.decode()
    assert "Bad Request (400)" not in client.get("/broken/").content.decode()


def test_a_failed_csrf_check_is_the_projects_403(tenant):
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post("/t/tailwind/sign-in/", {"email": "ann@partner.example"})
    body = response.content.decode()
    assert response.status_code == 403 and "This form has expired" in body and "Tailwind Traders" in body
    assert "CSRF verification failed" not in body


def test_the_500_page_needs_no_database(rf, django_db_blocker):
    request = RequestFactory().get("/anything/")
    with django_db_blocker.block():
        response = server_error(request)
    body = response.content.decode()
    assert response.status_code == 500 and "Something went wrong" in body and "favicon.svg" in body
    assert "Server Error (500)" not in body


def test_a_guest_at_admin_is_pointed_to_their_access_panels(client, tenant):
    home = UserFactory(tenant=TenantFactory(name="Fabrikam", slug="fabrikam"))
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=home.account)
    client.force_login(guest.account)
    to_login = client.get("/admin/")
    response = client.get(to_login["Location"])
    body = response.content.decode()
    assert response.status_code == 403 and "The admin console is for administrators" in body
    assert 'href="/t/tailwind/"' in body and 'href="/t/fabrikam/"' in body


def test_no_access_offers_another_account_and_lists_the_persons_organizations(client, tenant):
    elsewhere = UserFactory(tenant=TenantFactory(name="Fabrikam", slug="fabrikam"))
    client.force_login(elsewhere.account)
    response = client.get("/t/tailwind/")
    body = response.content.decode()
    assert response.status_code == 403 and 'href="/t/fabrikam/"' in body
    form = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', body, re.S).group(1)
    assert 'name="next" value="/t/tailwind/"' in form and "with another account" in form
    signed_out = client.post("/accounts/logout/", {"next": "/t/tailwind/"})
    assert client.get(signed_out["Location"])["Location"].startswith("/t/tailwind/sign-in/")
