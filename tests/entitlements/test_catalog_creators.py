"""Entra's "Catalog creator" role: tenant-wide administrators name members who may create catalogs; each
becomes the first owner of what they create and sees no other catalog. Through the services, the console
and a delegated token."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from directory import authz
from directory.actors import Actor
from directory.models import Account, AuditEvent
from entitlements import selectors, services
from entitlements.models import Catalog, CatalogRoleAssignment, EntitlementRoleAssignment
from tests.factories import GuestFactory, TenantFactory, UserFactory

from .scenario import member, tailwind

pytestmark = pytest.mark.django_db


def _creator(s):
    person = member(s)
    services.catalog_creator_add(actor=s.admin_actor, tenant=s.tenant, user=person)
    return person


def test_the_rule_lives_in_the_authorization_table():
    assert authz.may_create_catalog(tenant_capabilities={"EntitlementManagement.ReadWrite.All"}, entitlement_roles=[])
    assert authz.may_create_catalog(tenant_capabilities=(), entitlement_roles=[authz.CATALOG_CREATOR])
    assert not authz.may_create_catalog(tenant_capabilities={"EntitlementManagement.Read.All"},
                                        entitlement_roles=[authz.CATALOG_OWNER])


def test_a_catalog_creator_creates_a_catalog_owns_it_and_sees_no_other():
    s = tailwind()
    ann = member(s)
    with pytest.raises(PermissionDenied):
        services.catalog_create(actor=Actor.for_user(ann), tenant=s.tenant, display_name="Mine")
    services.catalog_creator_add(actor=s.admin_actor, tenant=s.tenant, user=ann)
    mine = services.catalog_create(actor=Actor.for_user(ann), tenant=s.tenant, display_name="Mine")
    assert CatalogRoleAssignment.objects.filter(catalog=mine, user=ann, role=authz.CATALOG_OWNER).exists()
    assert list(selectors.catalogs_visible_to(Actor.for_user(ann))) == [mine]  # not the admin's "Marketing"
    with pytest.raises(PermissionDenied):  # creating is not managing the others
        services.catalog_update(actor=Actor.for_user(ann), catalog=s.catalog, changes={"description": "x"})
    package = services.package_create(actor=Actor.for_user(ann), catalog=mine, display_name="Mine too")
    assert package.catalog == mine


def test_removing_the_role_stops_creating_but_keeps_what_was_created():
    s = tailwind()
    ann = _creator(s)
    mine = services.catalog_create(actor=Actor.for_user(ann), tenant=s.tenant, display_name="Mine")
    services.catalog_creator_remove(actor=s.admin_actor, assignment=EntitlementRoleAssignment.objects.get(user=ann))
    with pytest.raises(PermissionDenied):
        services.catalog_create(actor=Actor.for_user(ann), tenant=s.tenant, display_name="Another")
    assert list(selectors.catalogs_visible_to(Actor.for_user(ann))) == [mine]
    activities = list(AuditEvent.objects.filter(activity_display_name__endswith="entitlement management role assignment")
                      .order_by("activity_date_time").values_list("activity_display_name", flat=True))
    assert activities == ["Add entitlement management role assignment", "Remove entitlement management role assignment"]


def test_only_tenant_wide_administrators_name_creators_and_only_members_of_the_tenant():
    s = tailwind()
    ann, bob = member(s), member(s)
    with pytest.raises(PermissionDenied):
        services.catalog_creator_add(actor=Actor.for_user(ann), tenant=s.tenant, user=bob)
    owner = _creator(s)
    services.catalog_create(actor=Actor.for_user(owner), tenant=s.tenant, display_name="Owned")
    with pytest.raises(PermissionDenied):  # a catalog owner or creator does not name creators either
        services.catalog_creator_add(actor=Actor.for_user(owner), tenant=s.tenant, user=bob)
    with pytest.raises(ValidationError):
        services.catalog_creator_add(actor=s.admin_actor, tenant=s.tenant,
                                     user=GuestFactory(tenant=s.tenant, external_user_state="Accepted"))
    with pytest.raises(ValidationError):
        services.catalog_creator_add(actor=s.admin_actor, tenant=s.tenant, user=UserFactory(tenant=TenantFactory()))
    assert services.catalog_creator_add(actor=s.admin_actor, tenant=s.tenant, user=owner).user == owner  # once
    assert EntitlementRoleAssignment.objects.filter(user=owner).count() == 1


def test_a_creator_in_one_tenant_creates_nothing_in_another():
    s = tailwind()
    ann = _creator(s)
    other = TenantFactory()
    with pytest.raises(PermissionDenied):
        services.catalog_create(actor=Actor.for_user(ann), tenant=other, display_name="Theirs")


# --- the console ------------------------------------------------------------------------------------


def _console(person) -> Client:
    Account.objects.filter(pk=person.account_id).update(is_staff=True)  # the console opens to staff accounts
    client = Client()
    client.force_login(person.account)
    return client


def test_in_the_console_a_creator_adds_a_catalog_and_owns_it():
    s = tailwind()
    ann = _creator(s)
    client = _console(ann)
    page = client.get(reverse("admin:entitlements_catalog_changelist")).content.decode()
    assert reverse("admin:entitlements_catalog_add") in page and "Marketing" not in page
    response = client.post(reverse("admin:entitlements_catalog_add"), {
        "tenant": str(s.tenant.pk), "display_name": "Ann's catalog", "description": "", "state": "published",
        "is_externally_visible": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    catalog = Catalog.objects.get(display_name="Ann's catalog")
    assert CatalogRoleAssignment.objects.filter(catalog=catalog, user=ann, role=authz.CATALOG_OWNER).exists()
    assert client.get(reverse("admin:entitlements_catalog_change", args=[catalog.pk])).status_code == 200


def test_in_the_console_a_catalog_owner_who_is_not_a_creator_adds_no_catalog():
    s = tailwind()
    ann = member(s)
    services.catalog_role_add(actor=s.admin_actor, catalog=s.catalog, user=ann, role=authz.CATALOG_OWNER)
    client = _console(ann)
    assert reverse("admin:entitlements_catalog_add") not in client.get(
        reverse("admin:entitlements_catalog_changelist")).content.decode()
    assert client.get(reverse("admin:entitlements_catalog_add")).status_code == 403


def test_an_administrator_names_and_removes_creators_in_the_console():
    s = tailwind()
    ann = member(s)
    client = _console(s.admin)
    assert client.get(reverse("admin:entitlements_entitlementroleassignment_add")).status_code == 200
    response = client.post(reverse("admin:entitlements_entitlementroleassignment_add"),
                           {"tenant": str(s.tenant.pk), "user": str(ann.pk)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assignment = EntitlementRoleAssignment.objects.get(user=ann)
    assert assignment.role == authz.CATALOG_CREATOR
    listed = client.get(reverse("admin:entitlements_entitlementroleassignment_changelist")).content.decode()
    assert ann.user_principal_name in listed
    response = client.post(reverse("admin:entitlements_entitlementroleassignment_delete", args=[assignment.pk]),
                           {"post": "yes"})
    assert response.status_code == 302 and not EntitlementRoleAssignment.objects.exists()
    # A creator does not reach the creators' page.
    creator = _creator(s)
    assert _console(creator).get(reverse("admin:entitlements_entitlementroleassignment_changelist")).status_code == 403


def test_in_the_console_a_guest_or_another_tenants_user_is_refused_as_creator_with_a_message():
    s = tailwind()
    client = _console(s.admin)
    # (another tenant's user is not even a choice of the form: the console scopes its users to the tenants)
    for person, message in ((GuestFactory(tenant=s.tenant), "members of the organization, not guests"),
                            (UserFactory(tenant=TenantFactory()), "Select a valid choice")):
        response = client.post(reverse("admin:entitlements_entitlementroleassignment_add"),
                               {"tenant": str(s.tenant.pk), "user": str(person.pk)})
        assert response.status_code == 200
        assert message in response.content.decode()
    assert not EntitlementRoleAssignment.objects.exists()
