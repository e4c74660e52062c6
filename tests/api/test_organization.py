"""/organization, its branding and the branding's localizations."""

import io

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from directory import services
from directory.actors import Actor
from directory.models import Branding, Domain
from tests.api.contract import EndpointContract
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def org_target(tenant) -> dict:
    return {"org_id": tenant.pk}


def branded_target(tenant) -> dict:
    Branding.objects.create(tenant=tenant, sign_in_page_text="Welcome")
    Branding.objects.create(tenant=tenant, locale="fr", sign_in_page_text="Bienvenue")
    return {"org_id": tenant.pk, "localization_id": "fr"}


# --- the access contract of every route -------------------------------------------------------


class TestListOrganization(EndpointContract):
    route = "organization"
    permission = "Organization.Read.All"
    guest_status = 200  # guests read their own tenant's organization


class TestGetOrganization(EndpointContract):
    route = "organization/<str:org_id>"
    permission = "Organization.Read.All"

    def make_target(self, tenant):
        return org_target(tenant)


class TestGetBranding(EndpointContract):
    route = "organization/<str:org_id>/branding"
    permission = "Organization.Read.All"

    def make_target(self, tenant):
        return branded_target(tenant)


class TestListBrandingLocalizations(EndpointContract):
    route = "organization/<str:org_id>/branding/localizations"
    permission = "Organization.Read.All"

    def make_target(self, tenant):
        return branded_target(tenant)


class TestGetBrandingLocalization(EndpointContract):
    route = "organization/<str:org_id>/branding/localizations/<str:localization_id>"
    permission = "Organization.Read.All"

    def make_target(self, tenant):
        return branded_target(tenant)


# --- organization -----------------------------------------------------------------------------


def test_organization_is_the_callers_tenant_only(api_tenant, app_token_for, api):
    Domain.objects.create(tenant=api_tenant, name="tailwind.com", is_verified=True)
    Domain.objects.create(tenant=api_tenant, name="unverified.example", is_verified=False)
    other = TenantFactory()
    client = api(app_token_for(api_tenant, ["Organization.Read.All"]))
    body = client.get("/v1.0/organization").json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#organization")
    [org] = body["value"]
    assert org["id"] == str(api_tenant.pk) and org["displayName"] == "Tailwind Traders"
    assert org["verifiedDomains"] == [
        {"name": "tailwind.example", "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline",
         "isDefault": True, "isInitial": True},
        {"name": "tailwind.com", "type": "Managed", "capabilities": "Email", "isDefault": False, "isInitial": False},
    ]
    assert org["tenantType"] == "AAD" and org["businessPhones"] == [] and org["technicalNotificationMails"] == []
    assert org["privacyProfile"] == {"contactEmail": None, "statementUrl": "https://example.com/privacy"}
    item = client.get(f"/v1.0/organization/{api_tenant.pk}", {"$select": "displayName"}).json()
    assert item == {"@odata.context": "http://testserver/v1.0/$metadata#organization/$entity",
                    "id": str(api_tenant.pk), "displayName": "Tailwind Traders"}
    assert client.get(f"/v1.0/organization/{other.pk}").status_code == 404
    assert client.get("/v1.0/organization", {"$filter": f"id eq '{other.pk}'"}).json()["value"] == []
    assert client.get("/v1.0/organization/not-a-guid").status_code == 404
    assert client.get("/v1.0/organization", {"$filter": "displayName eq 'x'"}).status_code == 400
    assert client.get("/v1.0/organization", {"$expand": "branding"}).status_code == 400


@pytest.mark.parametrize(
    ("permission", "status"),
    [("Organization.Read.All", 200), ("Directory.Read.All", 200), ("Directory.ReadWrite.All", 200),
     ("User.Read.All", 200), ("Policy.Read.All", 403), ("Group.Read.All", 403)],
)
def test_which_application_permissions_read_the_organization(api_tenant, app_token_for, api, permission, status):
    assert api(app_token_for(api_tenant, [permission])).get("/v1.0/organization").status_code == status


def test_a_signed_in_member_or_guest_reads_its_tenant_with_user_read(api_tenant, api, delegated_token_for):
    Branding.objects.create(tenant=api_tenant, sign_in_page_text="Welcome")
    member = UserFactory(tenant=api_tenant)
    guest = GuestFactory(tenant=api_tenant, account=AccountFactory(), external_user_state="Accepted")
    for user in (member, guest):
        client = api(delegated_token_for(user, ["User.Read"]))
        assert [o["id"] for o in client.get("/v1.0/organization").json()["value"]] == [str(api_tenant.pk)]
        assert client.get(f"/v1.0/organization/{api_tenant.pk}/branding").json()["signInPageText"] == "Welcome"


# --- branding ---------------------------------------------------------------------------------


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 8), "#0F6CBD").save(buffer, format="PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")


def test_branding_is_404_until_a_default_exists(api_tenant, app_token_for, api):
    client = api(app_token_for(api_tenant, ["Organization.Read.All"]))
    url = f"/v1.0/organization/{api_tenant.pk}/branding"
    Branding.objects.create(tenant=api_tenant, locale="fr", sign_in_page_text="Bienvenue")
    response = client.get(url)
    assert response.status_code == 404 and response.json()["error"]["code"] == "Request_ResourceNotFound"
    services.branding_save(actor=Actor.operator(), branding=Branding(tenant=api_tenant, background_color="#0F6CBD",
                                                         sign_in_page_text="Welcome", username_hint_text="you@x",
                                                         banner_logo=_png()))
    body = client.get(url).json()
    assert body["@odata.context"] == (f"http://testserver/v1.0/$metadata#organization('{api_tenant.pk}')"
                                      "/branding/$entity")
    logo = body["bannerLogoRelativeUrl"]
    assert logo.startswith("media/branding/") and logo.endswith(".png")
    assert body == {**body, "id": "0", "backgroundColor": "#0F6CBD", "signInPageText": "Welcome",
                    "usernameHintText": "you@x", "cdnList": ["testserver"], "backgroundImageRelativeUrl": None,
                    "customPrivacyAndCookiesUrl": "https://example.com/privacy"}
    # the path is relative to the site (MEDIA_URL), where the stored logo is served
    assert default_storage.exists(logo.removeprefix(settings.MEDIA_URL.lstrip("/")))


@pytest.mark.parametrize(
    ("language", "expected"),
    [(None, "Welcome"), ("0", "Welcome"), ("default", "Welcome"), ("fr", "Bienvenue"), ("FR", "Bienvenue"),
     ("fr;q=0.9, en", "Bienvenue"), ("de-DE", "Welcome"), ("*", "Welcome"), ("../../etc", "Welcome"),
     ("x" * 300, "Welcome")],
)
def test_branding_follows_accept_language(api_tenant, app_token_for, api, language, expected):
    branded_target(api_tenant)
    headers = {"HTTP_ACCEPT_LANGUAGE": language} if language else {}
    response = api(app_token_for(api_tenant, ["Organization.Read.All"])).get(
        f"/v1.0/organization/{api_tenant.pk}/branding", **headers)
    assert response.status_code == 200, response.content
    assert response.json()["signInPageText"] == expected
    assert response.json()["id"] == ("fr" if expected == "Bienvenue" else "0")


def test_localizations_list_and_item(api_tenant, app_token_for, api):
    branded_target(api_tenant)
    other = TenantFactory()
    Branding.objects.create(tenant=other, locale="de", sign_in_page_text="Willkommen")
    client = api(app_token_for(api_tenant, ["Organization.Read.All"]))
    url = f"/v1.0/organization/{api_tenant.pk}/branding/localizations"
    body = client.get(url).json()
    assert body["@odata.context"].endswith(f"$metadata#organization('{api_tenant.pk}')/branding/localizations")
    assert [(b["id"], b["signInPageText"]) for b in body["value"]] == [("0", "Welcome"), ("fr", "Bienvenue")]
    selected = client.get(url, {"$select": "signInPageText"}).json()["value"]
    assert selected == [{"id": "0", "signInPageText": "Welcome"}, {"id": "fr", "signInPageText": "Bienvenue"}]
    assert client.get(f"{url}/fr").json()["signInPageText"] == "Bienvenue"
    item = client.get(f"{url}/0").json()
    assert item["id"] == "0" and item["@odata.context"].endswith("/branding/localizations/$entity")
    for missing in ("de", "xx", "fr-FR-too-long", "a'b", "%00"):
        response = client.get(f"{url}/{missing}")
        assert response.status_code == 404, missing
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert client.get(f"/v1.0/organization/{other.pk}/branding/localizations").status_code == 404
    assert client.get(url, {"$filter": "id eq 'fr'"}).status_code == 400
    assert client.get(url, {"$select": "nope"}).status_code == 400
