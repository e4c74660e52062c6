"""/v1.0/directory/federationConfigurations/microsoft.graph.samlOrWsFedExternalDomainFederation (also
written graph.…): list, create, one by id, its domains; contracts for every route and method, Graph's
shapes, the rules' 400/409 and the audit."""

import pytest

from directory.actors import Actor
from directory.models import AuditEvent
from policies import services
from policies.models import ExternalDomainFederation
from tests.api.contract import EndpointContract
from tests.factories import admin_of
from tests.support.saml_idp import certificate_base64, make_key_and_certificate

pytestmark = pytest.mark.django_db
CERT = certificate_base64(make_key_and_certificate()[1])
TYPE = "microsoft.graph.samlOrWsFedExternalDomainFederation"
BASE = "directory/federationConfigurations"


def body(domain="fabrikam.example", **overrides) -> dict:
    return {"@odata.type": TYPE, "displayName": "Fabrikam ADFS", "issuerUri": f"https://sts.{domain}/adfs/services/trust",
            "passiveSignInUri": f"https://sts.{domain}/adfs/ls/", "preferredAuthenticationProtocol": "saml",
            "signingCertificate": CERT, "domains": [{"@odata.type": "microsoft.graph.externalDomainName", "id": domain}],
            **overrides}


def federation_in(tenant, domain="fabrikam.example") -> ExternalDomainFederation:
    data = body(domain)
    domains = data.pop("domains")
    data.pop("@odata.type")
    return services.saml_federation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant, data=data,
                                           domains=domains)


# -- contracts: every route and method, both spellings of the cast ------------------------------------


class _Read(EndpointContract):
    permission = "IdentityProvider.Read.All"
    guest_status = 403
    member_status = 403


class _Write(_Read):
    permission = "IdentityProvider.ReadWrite.All"
    other_permission = "IdentityProvider.Read.All"


class _Item:
    def make_target(self, tenant):
        return {"federation_id": str(federation_in(tenant).pk)}


class _TwoDomains:
    def make_target(self, tenant):
        federation = federation_in(tenant)
        services.saml_federation_domain_add(actor=Actor.operator(), federation=federation, name="fabrikam-eu.example")
        return {"federation_id": str(federation.pk), "domain_id": "fabrikam-eu.example"}


for _cast in (TYPE, "graph.samlOrWsFedExternalDomainFederation"):
    _tag = "Long" if _cast == TYPE else "Short"
    _routes = [
        ("ListFederations", (_Read,), {"route": f"{BASE}/{_cast}"}),
        ("CreateFederation", (_Write,), {"route": f"{BASE}/{_cast}", "method": "post", "ok_status": 201,
                                         "body": lambda self, tenant, target: body()}),
        ("GetFederationCast", (_Item, _Read), {"route": f"{BASE}/{_cast}/<str:federation_id>"}),
        ("PatchFederationCast", (_Item, _Write), {"route": f"{BASE}/{_cast}/<str:federation_id>", "method": "patch",
                                                  "ok_status": 204,
                                                  "body": lambda self, tenant, target: {"displayName": "Fabrikam"}}),
        ("DeleteFederationCast", (_Item, _Write), {"route": f"{BASE}/{_cast}/<str:federation_id>", "method": "delete",
                                                   "ok_status": 204}),
        ("ListDomainsCastFirst", (_Item, _Read), {"route": f"{BASE}/{_cast}/<str:federation_id>/domains"}),
        ("AddDomainCastFirst", (_Item, _Write), {"route": f"{BASE}/{_cast}/<str:federation_id>/domains",
                                                 "method": "post", "ok_status": 201,
                                                 "body": lambda self, tenant, target: {"id": "fabrikam-us.example"}}),
        ("ListDomains", (_Item, _Read), {"route": f"{BASE}/<str:federation_id>/{_cast}/domains"}),
        ("AddDomain", (_Item, _Write), {"route": f"{BASE}/<str:federation_id>/{_cast}/domains", "method": "post",
                                        "ok_status": 201,
                                        "body": lambda self, tenant, target: {"id": "fabrikam-us.example"}}),
    ]
    for _name, _bases, _attrs in _routes:
        globals()[f"Test{_name}{_tag}"] = type(f"Test{_name}{_tag}", _bases, dict(_attrs))


class TestListFederationConfigurations(_Read):
    route = BASE


class TestCreateFederationConfiguration(_Write):
    route = BASE
    method = "post"
    ok_status = 201

    def body(self, tenant, target):
        return body()


class TestGetFederation(_Item, _Read):
    route = f"{BASE}/<str:federation_id>"


class TestPatchFederation(_Item, _Write):
    route = f"{BASE}/<str:federation_id>"
    method = "patch"
    ok_status = 204

    def body(self, tenant, target):
        return {"displayName": "Fabrikam"}


class TestDeleteFederation(_Item, _Write):
    route = f"{BASE}/<str:federation_id>"
    method = "delete"
    ok_status = 204


class TestDeleteDomain(_TwoDomains, _Write):
    route = f"{BASE}/<str:federation_id>/{TYPE}/domains/<str:domain_id>"
    method = "delete"
    ok_status = 204


# -- behaviour ----------------------------------------------------------------------------------------


@pytest.fixture
def admin_api(api, app_token_for, api_tenant):
    return api(app_token_for(api_tenant, ["IdentityProvider.ReadWrite.All"]))


def test_create_answers_graphs_shape_and_lists_the_domains(admin_api, api_tenant):
    created = admin_api.post(f"/v1.0/{BASE}/{TYPE}", body(), format="json")
    assert created.status_code == 201, created.content
    item = created.json()
    assert item["@odata.type"] == f"#{TYPE}"
    assert {k: item[k] for k in ("displayName", "preferredAuthenticationProtocol", "signingCertificate",
                                 "metadataExchangeUri")} == {
        "displayName": "Fabrikam ADFS", "preferredAuthenticationProtocol": "saml", "signingCertificate": CERT,
        "metadataExchangeUri": None}
    assert created["Location"].endswith(f"/v1.0/{BASE}/{item['id']}")
    listed = admin_api.get(f"/v1.0/{BASE}/graph.samlOrWsFedExternalDomainFederation").json()["value"]
    assert [f["id"] for f in listed] == [item["id"]]
    domains = admin_api.get(f"/v1.0/{BASE}/{item['id']}/graph.samlOrWsFedExternalDomainFederation/domains").json()
    assert domains["value"] == [{"id": "fabrikam.example"}]
    assert AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Add SAML/WS-Fed identity provider").exists()


@pytest.mark.parametrize(("overrides", "status", "words"), [
    ({"signingCertificate": "bm90IGEgY2VydGlmaWNhdGU="}, 400, "X.509"),
    ({"signingCertificate": "MII\x00"}, 400, "NUL"),
    ({"passiveSignInUri": "http://sts.fabrikam.example/ls"}, 400, "https://"),
    ({"domains": [{"id": "gmail.com"}]}, 400, "public mail domain"),
    ({"domains": []}, 400, "at least one domain"),
    ({"domains": [{"id": "fab\x00rikam.example"}]}, 400, "NUL"),
    ({"preferredAuthenticationProtocol": "oidc"}, 400, "must be"),
    ({"signingCertificate": "A" * 20_000}, 400, "longer than"),
])
def test_bad_bodies_are_a_400_with_the_reason_and_write_nothing(admin_api, overrides, status, words):
    response = admin_api.post(f"/v1.0/{BASE}/{TYPE}", body(**overrides), format="json")
    assert response.status_code == status, response.content
    assert words in response.json()["error"]["message"]
    assert not ExternalDomainFederation.objects.exists()


def test_a_domain_already_federated_is_a_409(admin_api, api_tenant):
    federation_in(api_tenant)
    response = admin_api.post(f"/v1.0/{BASE}/{TYPE}", body(issuerUri="https://other.example/idp"), format="json")
    assert response.status_code == 409, response.content


def test_patch_changes_the_certificate_and_delete_removes_it(admin_api, api_tenant):
    federation = federation_in(api_tenant)
    other = certificate_base64(make_key_and_certificate()[1])
    assert admin_api.patch(f"/v1.0/{BASE}/{federation.pk}", {"signingCertificate": other}, format="json").status_code == 204
    federation.refresh_from_db()
    assert federation.signing_certificate == other
    assert admin_api.delete(f"/v1.0/{BASE}/{federation.pk}").status_code == 204
    assert not ExternalDomainFederation.objects.exists()


def test_the_last_domain_cannot_be_removed(admin_api, api_tenant):
    federation = federation_in(api_tenant)
    response = admin_api.delete(f"/v1.0/{BASE}/{federation.pk}/{TYPE}/domains/fabrikam.example")
    assert response.status_code == 400 and "at least one domain" in response.json()["error"]["message"]


def test_the_list_runs_a_fixed_number_of_queries(admin_api, api_tenant, django_assert_max_num_queries):
    for n in range(3):
        federation_in(api_tenant, f"partner{n}.example")
    with django_assert_max_num_queries(8):
        first = admin_api.get(f"/v1.0/{BASE}/{TYPE}")
    for n in range(3, 12):
        federation_in(api_tenant, f"partner{n}.example")
    with django_assert_max_num_queries(8):
        second = admin_api.get(f"/v1.0/{BASE}/{TYPE}")
    assert len(first.json()["value"]) == 3 and len(second.json()["value"]) == 12


def test_the_untyped_collection_takes_only_this_type(admin_api):
    wrong = admin_api.post(f"/v1.0/{BASE}", body(**{"@odata.type": "#microsoft.graph.socialIdentityProvider"}),
                           format="json")
    assert wrong.status_code == 400 and TYPE in wrong.json()["error"]["message"]
    assert admin_api.post(f"/v1.0/{BASE}", body(), format="json").status_code == 201
