"""Catalog role holders without a tenant role in the admin console: their catalogs only (another
catalog's objects are 404), and what each role allows there (Entra's catalog roles)."""

import pytest
from django.test import Client
from django.urls import reverse

from directory import authz
from directory.actors import Actor
from directory.models import Account
from entitlements import services
from entitlements.models import AccessPackage, AssignmentPolicy, AssignmentRequest, Catalog
from tests.factories import UserFactory

from .scenario import tailwind

pytestmark = pytest.mark.django_db

ROLES = {"owner": authz.CATALOG_OWNER, "reader": authz.CATALOG_READER,
         "package manager": authz.ACCESS_PACKAGE_MANAGER, "assignment manager": authz.ACCESS_PACKAGE_ASSIGNMENT_MANAGER}


def _holder(role: str):
    s = tailwind()
    s.package_policy = s.policy()
    person = UserFactory(tenant=s.tenant)
    Account.objects.filter(pk=person.account_id).update(is_staff=True)  # the console opens to staff accounts
    services.catalog_role_add(actor=s.admin_actor, catalog=s.catalog, user=person, role=ROLES[role])
    other = services.catalog_create(actor=s.admin_actor, tenant=s.tenant, display_name="Other catalog")
    other_package = services.package_create(actor=s.admin_actor, catalog=other, display_name="Other package")
    client = Client()
    client.force_login(person.account)
    return s, person, client, other, other_package


def _change_catalog(s, client):
    from entitlements.models import CatalogRoleAssignment

    existing = list(CatalogRoleAssignment.objects.filter(catalog=s.catalog))  # the roles inline, unchanged
    return client.post(reverse("admin:entitlements_catalog_change", args=[s.catalog.pk]), {
        **_roles_form(s, existing), "description": "Changed"})


def _add_package(s, client):
    return client.post(reverse("admin:entitlements_accesspackage_add"), {
        "catalog": str(s.catalog.pk), "display_name": "New package", "description": "",
        "role_scopes-TOTAL_FORMS": "0", "role_scopes-INITIAL_FORMS": "0"})


def _add_policy(s, client):
    return client.post(reverse("admin:entitlements_assignmentpolicy_add"), {
        "package": str(s.package.pk), "display_name": "Direct", "description": "",
        "allowed_target_scope": "notSpecified", "expiration_type": "afterDuration", "expiration_days": "30",
        "stage1_days": "14", "stage2_days": "14"})


def _assign(s, client):
    target = UserFactory(tenant=s.tenant, display_name="Target Person")
    client.post(reverse("admin:entitlements_assignment_add"), {
        "package": str(s.package.pk), "policy": str(s.package_policy.pk), "target": str(target.pk)})
    return AssignmentRequest.objects.filter(target=target, request_type="adminAdd").exists()


ACTIONS = {
    "change the catalog": lambda s, c: _change_catalog(s, c).status_code == 302
    and Catalog.objects.get(pk=s.catalog.pk).description == "Changed",
    "add a package": lambda s, c: _add_package(s, c).status_code == 302
    and AccessPackage.objects.filter(display_name="New package").exists(),
    "add a policy": lambda s, c: _add_policy(s, c).status_code == 302
    and AssignmentPolicy.objects.filter(display_name="Direct").exists(),
    "assign directly": _assign,
}
ALLOWED = {
    "owner": set(ACTIONS),
    "reader": set(),
    "package manager": {"add a package", "add a policy", "assign directly"},
    "assignment manager": {"assign directly"},
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", list(ROLES))
def test_each_catalog_role_does_in_the_console_what_entra_allows(role, action):
    s, _person, client, _other, _other_package = _holder(role)
    assert ACTIONS[action](s, client) is (action in ALLOWED[role])


@pytest.mark.parametrize("role", list(ROLES))
def test_a_catalog_role_holder_sees_only_their_catalog(role):
    s, _person, client, other, other_package = _holder(role)
    page = client.get(reverse("admin:entitlements_catalog_changelist")).content.decode()
    assert "Marketing" in page and "Other catalog" not in page
    page = client.get(reverse("admin:entitlements_accesspackage_changelist")).content.decode()
    assert "Campaign collaboration" in page and "Other package" not in page
    assert client.get(reverse("admin:entitlements_catalog_change", args=[other.pk])).status_code == 404
    assert client.get(reverse("admin:entitlements_accesspackage_change", args=[other_package.pk])).status_code == 404
    assert client.get(reverse("admin:entitlements_catalog_change", args=[s.catalog.pk])).status_code == 200
    # The package form offers only catalogs where the role may create packages, never the other one.
    form = client.get(reverse("admin:entitlements_accesspackage_add"))
    assert "Other catalog" not in form.content.decode()


def test_a_catalog_owner_does_not_create_catalogs_or_reach_connected_organizations():
    s, _person, client, _other, _other_package = _holder("owner")
    assert client.get(reverse("admin:entitlements_catalog_add")).status_code == 403
    assert client.get(reverse("admin:entitlements_connectedorganization_changelist")).status_code == 403
    assert Catalog.objects.filter(tenant=s.tenant).count() == 2


def test_a_tenant_wide_administrator_still_sees_every_catalog():
    s, person, _client, _other, _other_package = _holder("reader")
    client = Client()
    client.force_login(s.admin.account)
    page = client.get(reverse("admin:entitlements_catalog_changelist")).content.decode()
    assert "Marketing" in page and "Other catalog" in page
    assert Actor.for_user(person).tenant == s.tenant


def _add_links(client) -> dict:
    """The "Add" links on the console's home, the entitlement area and its catalog and package lists,
    with the status each opens with."""
    import re

    links = set()
    for page in (reverse("admin:index"), reverse("admin:app_list", args=["entitlements"]),
                 reverse("admin:entitlements_catalog_changelist"), reverse("admin:entitlements_accesspackage_changelist")):
        response = client.get(page)
        assert response.status_code == 200
        links |= set(re.findall(r'href="(/admin/entitlements/[a-z]+/add/)"', response.content.decode()))
    return {link: client.get(link).status_code for link in links}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_add_link_a_catalog_role_holder_sees_opens(role):
    _s, _person, client, _other, _other_package = _holder(role)
    links = _add_links(client)
    assert all(status == 200 for status in links.values()), links
    assert (reverse("admin:entitlements_accesspackage_add") in links) is (role in ("owner", "package manager"))


def test_a_catalog_reader_sees_no_add_link():
    _s, _person, reader, _other, _other_package = _holder("reader")
    assert _add_links(reader) == {}


def test_a_catalog_owner_sees_the_add_links_of_what_owners_create():
    _s, _person, owner, _other, _other_package = _holder("owner")
    links = _add_links(owner)
    assert {reverse("admin:entitlements_accesspackage_add"), reverse("admin:entitlements_catalogresource_add"),
            reverse("admin:entitlements_assignmentpolicy_add"), reverse("admin:entitlements_assignment_add")} <= set(links)
    # Tenant-wide only: creating catalogs and the tenant's entitlement settings.
    assert reverse("admin:entitlements_catalog_add") not in links
    assert reverse("admin:entitlements_entitlementsettings_add") not in links


def _roles_form(s, existing, *, add=None, delete=None) -> dict:
    """The catalog's change form with its roles inline: ``add`` (user, role) as a new row, ``delete`` a row."""
    data = {"display_name": s.catalog.display_name, "description": "", "state": "published",
            "is_externally_visible": "on", "role_assignments-TOTAL_FORMS": str(len(existing) + bool(add)),
            "role_assignments-INITIAL_FORMS": str(len(existing)), "role_assignments-MIN_NUM_FORMS": "0",
            "role_assignments-MAX_NUM_FORMS": "1000"}
    for n, assignment in enumerate(existing):
        data[f"role_assignments-{n}-id"] = str(assignment.pk)
        data[f"role_assignments-{n}-catalog"] = str(s.catalog.pk)
        if assignment == delete:
            data[f"role_assignments-{n}-DELETE"] = "on"
    if add:
        data.update({f"role_assignments-{len(existing)}-user": str(add[0].pk),
                     f"role_assignments-{len(existing)}-role": add[1],
                     f"role_assignments-{len(existing)}-catalog": str(s.catalog.pk)})
    return data


def test_an_owner_gives_and_takes_catalog_roles_on_the_catalogs_page():
    from directory.models import AuditEvent
    from entitlements.models import CatalogRoleAssignment

    s, _person, client, _other, _other_package = _holder("owner")
    bob = UserFactory(tenant=s.tenant)
    url = reverse("admin:entitlements_catalog_change", args=[s.catalog.pk])
    assert "Roles and administrators" in client.get(url).content.decode()
    existing = list(CatalogRoleAssignment.objects.filter(catalog=s.catalog).order_by("created_at", "id"))
    response = client.post(url, _roles_form(s, existing, add=(bob, authz.CATALOG_READER)))
    assert response.status_code == 302, response.content.decode()[:3000]
    added = CatalogRoleAssignment.objects.get(catalog=s.catalog, user=bob)
    assert added.role == authz.CATALOG_READER
    assert AuditEvent.objects.filter(activity_display_name="Add catalog role assignment").count() == len(existing) - 1 + 1
    existing = list(CatalogRoleAssignment.objects.filter(catalog=s.catalog).order_by("created_at", "id"))
    response = client.post(url, _roles_form(s, existing, delete=added))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not CatalogRoleAssignment.objects.filter(user=bob).exists()
    assert AuditEvent.objects.filter(activity_display_name="Remove catalog role assignment").exists()


def test_a_catalog_reader_sees_the_roles_but_gives_none():
    from entitlements.models import CatalogRoleAssignment

    s, _person, client, _other, _other_package = _holder("reader")
    bob = UserFactory(tenant=s.tenant)
    url = reverse("admin:entitlements_catalog_change", args=[s.catalog.pk])
    page = client.get(url).content.decode()
    assert "Roles and administrators" in page and "Catalog reader" in page
    assert 'name="role_assignments-MAX_NUM_FORMS" value="0"' in page  # no row may be added
    existing = list(CatalogRoleAssignment.objects.filter(catalog=s.catalog))
    client.post(url, _roles_form(s, existing, add=(bob, authz.CATALOG_OWNER)))
    assert not CatalogRoleAssignment.objects.filter(user=bob).exists()
