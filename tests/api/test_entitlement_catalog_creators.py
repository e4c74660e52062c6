"""Entra's catalog creators through Graph: administrators assign the role at
``/roleManagement/entitlementManagement/roleAssignments`` (directory scope "/"); with a delegated token
carrying EntitlementManagement.ReadWrite.All a creator (no tenant role) creates a catalog, owns it and lists
only what they hold a role in; without the role, or with a read-only token, nothing is created."""

import pytest

from directory import authz
from directory.actors import Actor
from entitlements import services
from entitlements.models import Catalog, EntitlementRoleAssignment
from tests.api.test_entitlement_management import READ, WRITE, B, _Read, _Write, em
from tests.factories import GuestFactory, UserFactory

pytestmark = pytest.mark.django_db
RA = "roleManagement/entitlementManagement/roleAssignments"


# --- the access contract of every route -------------------------------------------------------


class _Assigned:
    def make_target(self, tenant):
        return {"assignment_id": _person(tenant, creator=True).entitlement_roles.get().pk}


class TestListRoleAssignments(_Read):
    route = RA


class TestCreateRoleAssignment(_Write):
    route = RA
    method = "post"
    ok_status = 201

    def make_target(self, tenant):
        return {"_user": UserFactory(tenant=tenant)}

    def body(self, tenant, target):
        return {"principalId": str(target["_user"].pk), "roleDefinitionId": authz.CATALOG_CREATOR,
                "directoryScopeId": "/"}


class TestGetRoleAssignment(_Assigned, _Read):
    route = RA + "/<str:assignment_id>"


class TestDeleteRoleAssignment(_Assigned, _Write):
    route = RA + "/<str:assignment_id>"
    method = "delete"
    ok_status = 204


# --- the flows --------------------------------------------------------------------------------------


def _person(tenant, *, creator: bool):
    person = UserFactory(tenant=tenant)
    if creator:
        services.catalog_creator_add(actor=Actor.operator(), tenant=tenant, user=person)
    return person


def test_a_creator_creates_a_catalog_and_lists_only_theirs(api, delegated_token_for, api_tenant):
    existing = em(api_tenant)["catalog"]
    client = api(delegated_token_for(_person(api_tenant, creator=True), [WRITE]))
    assert client.get(f"/v1.0/{B}catalogs").json()["value"] == []
    response = client.post(f"/v1.0/{B}catalogs", {"displayName": "Partner onboarding"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()["id"]
    assert [c["id"] for c in client.get(f"/v1.0/{B}catalogs").json()["value"]] == [created]
    assert client.get(f"/v1.0/{B}catalogs/{existing.pk}").status_code == 404
    assert client.patch(f"/v1.0/{B}catalogs/{created}", {"description": "Ours"}, format="json").status_code == 204


@pytest.mark.parametrize(("creator", "scope"), [(False, WRITE), (True, READ)])
def test_without_the_role_or_the_write_scope_no_catalog_is_created(creator, scope, api, delegated_token_for,
                                                                    api_tenant):
    client = api(delegated_token_for(_person(api_tenant, creator=creator), [scope]))
    response = client.post(f"/v1.0/{B}catalogs", {"displayName": "Partner onboarding"}, format="json")
    assert response.status_code == 403, response.content
    assert not Catalog.objects.filter(display_name="Partner onboarding").exists()


def test_an_administrator_assigns_lists_and_removes_the_role(api, app_token_for, api_tenant):
    ann = UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, [WRITE]))
    response = client.post(f"/v1.0/{RA}", {"principalId": str(ann.pk), "roleDefinitionId": authz.CATALOG_CREATOR,
                                           "directoryScopeId": "/"}, format="json")
    assert response.status_code == 201, response.content
    item = response.json()
    assert item["principalId"] == str(ann.pk) and item["directoryScopeId"] == "/" and item["appScopeId"] is None
    assert [a["id"] for a in client.get(f"/v1.0/{RA}").json()["value"]] == [item["id"]]
    assert client.delete(f"/v1.0/{RA}/{item['id']}").status_code == 204
    assert not EntitlementRoleAssignment.objects.exists()


@pytest.mark.parametrize("body", [
    {"roleDefinitionId": authz.CATALOG_OWNER, "directoryScopeId": "/"},  # a catalog's role: not here
    {"roleDefinitionId": authz.CATALOG_CREATOR, "directoryScopeId": "/", "appScopeId": "/AccessPackageCatalog/x"},
])
def test_other_roles_and_scopes_are_refused(body, api, app_token_for, api_tenant):
    ann = UserFactory(tenant=api_tenant)
    response = api(app_token_for(api_tenant, [WRITE])).post(f"/v1.0/{RA}", {"principalId": str(ann.pk), **body},
                                                              format="json")
    assert response.status_code == 400, response.content
    assert not EntitlementRoleAssignment.objects.exists()


def test_a_guest_or_a_stranger_is_not_made_a_creator(api, app_token_for, api_tenant):
    client = api(app_token_for(api_tenant, [WRITE]))
    for person in (GuestFactory(tenant=api_tenant, external_user_state="Accepted"), UserFactory()):
        response = client.post(f"/v1.0/{RA}", {"principalId": str(person.pk), "roleDefinitionId": authz.CATALOG_CREATOR,
                                               "directoryScopeId": "/"}, format="json")
        assert response.status_code == 400, response.content
    assert not EntitlementRoleAssignment.objects.exists()


# --- a catalog's roles (appScopeId "/AccessPackageCatalog/{id}") -------------------------------------


def _catalog_role(client, catalog, person, role):
    return client.post(f"/v1.0/{RA}", {"principalId": str(person.pk), "roleDefinitionId": role,
                                       "appScopeId": f"/AccessPackageCatalog/{catalog.pk}"}, format="json")


def _catalog_roles(client, catalog):
    return client.get(f"/v1.0/{RA}", {"$filter": f"appScopeId eq '/AccessPackageCatalog/{catalog.pk}'"})


def test_an_administrator_gives_lists_and_takes_a_catalogs_roles(api, app_token_for, api_tenant):
    from directory.models import AuditEvent
    from entitlements.models import CatalogRoleAssignment

    catalog = em(api_tenant)["catalog"]
    ann = UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, [WRITE]))
    response = _catalog_role(client, catalog, ann, authz.CATALOG_READER)
    assert response.status_code == 201, response.content
    item = response.json()
    assert item["appScopeId"] == f"/AccessPackageCatalog/{catalog.pk}" and item["directoryScopeId"] is None
    listed = _catalog_roles(client, catalog).json()["value"]
    assert {(a["principalId"], a["roleDefinitionId"]) for a in listed} == {(str(ann.pk), authz.CATALOG_READER)}
    assert client.get(f"/v1.0/{RA}/{item['id']}").json()["roleDefinitionId"] == authz.CATALOG_READER
    assert client.get(f"/v1.0/{RA}").json()["value"] == []  # the unfiltered list: the creators
    assert client.delete(f"/v1.0/{RA}/{item['id']}").status_code == 204
    assert not CatalogRoleAssignment.objects.filter(user=ann).exists()
    assert AuditEvent.objects.filter(activity_display_name="Remove catalog role assignment").exists()


def test_a_catalog_owner_gives_roles_in_their_catalog_and_a_reader_does_not(api, delegated_token_for, api_tenant):
    from entitlements.models import CatalogRoleAssignment

    catalog = em(api_tenant)["catalog"]
    owner, reader, bob = (UserFactory(tenant=api_tenant) for _ in range(3))
    services.catalog_role_add(actor=Actor.operator(), catalog=catalog, user=owner, role=authz.CATALOG_OWNER)
    services.catalog_role_add(actor=Actor.operator(), catalog=catalog, user=reader, role=authz.CATALOG_READER)
    as_reader = api(delegated_token_for(reader, [WRITE]))
    assert _catalog_role(as_reader, catalog, bob, authz.ACCESS_PACKAGE_MANAGER).status_code == 403
    assert len(_catalog_roles(as_reader, catalog).json()["value"]) == 2  # a reader reads them
    as_owner = api(delegated_token_for(owner, [WRITE]))
    assert _catalog_role(as_owner, catalog, bob, authz.ACCESS_PACKAGE_MANAGER).status_code == 201
    assert CatalogRoleAssignment.objects.get(user=bob).role == authz.ACCESS_PACKAGE_MANAGER
    other = em(api_tenant)["catalog"]  # another catalog: not theirs
    assert _catalog_role(as_owner, other, bob, authz.CATALOG_READER).status_code == 404
    assert _catalog_roles(as_owner, other).status_code == 404
    assert as_owner.post(f"/v1.0/{RA}", {"principalId": str(bob.pk), "roleDefinitionId": authz.CATALOG_CREATOR,
                                         "directoryScopeId": "/"}, format="json").status_code == 403
