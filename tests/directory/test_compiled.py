"""Querysets compiled once per process and shape (directory/compiled.py): the same rows as the ORM gives,
bound to each call's ids, never to the first caller's."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.actors import Actor
from directory.compiled import CompiledQuery
from directory.models import Role, RoleAssignment, User
from directory.selectors import _my_apps_rows, my_apps_page, organizations_for_account, panel_organizations
from tests.factories import (
    AccountFactory,
    ApplicationFactory,
    AssignmentFactory,
    GroupFactory,
    GuestFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _shape(users):
    return [(u.pk, u.tenant_id, u.tenant.name, u.user_type, u.account_enabled, u.role_values_json) for u in users]


def test_the_compiled_organizations_are_the_orms_for_each_account_in_turn():
    home, partner = TenantFactory(name="Home"), TenantFactory(name="Partner")
    ada, bo = AccountFactory(), AccountFactory()
    member = UserFactory(tenant=home, account=ada)
    RoleAssignment.objects.create(tenant=home, user=member, role=Role.GROUPS_ADMINISTRATOR)
    GuestFactory(tenant=partner, account=ada, external_user_state="Accepted")
    UserFactory(tenant=partner, account=bo)
    for account in (ada, bo, ada):
        expected = _shape(organizations_for_account(account=account, with_roles=True))
        with CaptureQueriesContext(connection) as captured:
            got = panel_organizations(account=account)
        assert _shape(got) == expected and len(captured) == 1
    first = panel_organizations(account=ada)[0]
    assert first.tenant.name == "Home"  # home first, as the ORM orders it
    assert json.loads(first.role_values_json) == [Role.GROUPS_ADMINISTRATOR.value]


def test_a_members_compiled_tiles_are_the_orms_rows():
    tenant = TenantFactory()
    for person in (UserFactory(tenant=tenant), UserFactory(tenant=tenant)):
        group = GroupFactory(tenant=tenant)
        group.members.add(person)
        owner = UserFactory(tenant=tenant, display_name=f"Owner of {person.pk}")
        direct = ApplicationFactory(tenant=tenant)
        direct.owners.add(owner)
        AssignmentFactory(application=direct, user=person)
        AssignmentFactory(application=ApplicationFactory(tenant=tenant), group=group)
        ApplicationFactory(tenant=tenant, self_service_enabled=True)
        rows = list(_my_apps_rows(person.pk, tenant.pk, User.objects.active().filter(tenant_id=tenant.pk),
                                  with_requestable=True))
        tiles, requestable = my_apps_page(Actor.for_user(person))
        assert sorted(map(str, (r["id"] for r in tiles + requestable))) == sorted(str(r["id"]) for r in rows)
        assert {str(r["id"]) for r in tiles} == {str(r["id"]) for r in rows if r["is_assigned"]}
        assert any(r["owner_names_json"] and person.display_name not in r["owner_names_json"] for r in tiles)


def test_a_query_that_does_not_use_an_id_it_is_given_is_refused():
    compiled = CompiledQuery(lambda key, *, tenant: User.objects.filter(display_name="x"))
    with pytest.raises(ValueError, match="does not use"):
        compiled.run("k", tenant=TenantFactory().pk)


def test_a_text_is_bound_per_call_like_an_id():
    """The invitation's reads bind the invited address: each call gets its own rows, not the first's."""
    tenant = TenantFactory()
    ann = UserFactory(tenant=tenant, mail="ann@fabrikam.example")
    UserFactory(tenant=tenant, mail="bo@fabrikam.example")
    compiled = CompiledQuery(lambda key, *, tenant, email: User.objects.filter(tenant_id=tenant).with_mail(email))

    assert [u.pk for u in compiled.run("k", tenant=tenant.pk, texts={"email": "ann@fabrikam.example"})] == [ann.pk]
    assert compiled.run("k", tenant=tenant.pk, texts={"email": "cy@fabrikam.example"}) == []
    assert compiled.run("k", tenant=TenantFactory().pk, texts={"email": "ann@fabrikam.example"}) == []


def test_a_text_the_query_does_not_pass_as_given_is_refused():
    compiled = CompiledQuery(lambda key, *, tenant, name: User.objects.filter(tenant_id=tenant,
                                                                              display_name__icontains=name))
    with pytest.raises(ValueError, match="does not use"):  # inside a LIKE pattern: not bindable as given
        compiled.run("k", tenant=TenantFactory().pk, texts={"name": "ann"})
