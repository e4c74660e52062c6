"""Querysets compiled once per process and shape (directory/compiled.py): the same rows as the ORM gives,
bound to each call's ids, never to the first caller's."""

import json
import uuid

import pytest
from django.db import connection
from django.db.models.functions import Now
from django.test.utils import CaptureQueriesContext

from directory import compiled
from directory.actors import Actor
from directory.audit import Change, Target, audit_event
from directory.compiled import CompiledQuery, insert_statement
from directory.models import AuditEvent, Role, RoleAssignment, User
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


# --- inserts -------------------------------------------------------------------------------------

_AUDIT_FIELDS = [f for f in AuditEvent._meta.local_concrete_fields if not f.generated]


def _events(tenant, user, count, correlation_id):
    return [audit_event(tenant=tenant, actor=Actor.operator(), activity="Update user", correlation_id=correlation_id,
                        targets=[Target(user, [Change("displayName", "Ann \"A\" \\ B", ["x", None])])],
                        details={"n": i, "quote": 'say "hi"'}) for i in range(count)]


def _stored(pks):
    columns = [f.attname for f in _AUDIT_FIELDS if f.attname not in ("id", "activity_date_time")]
    rows = AuditEvent.objects.filter(pk__in=pks).order_by("additional_details").values_list(*columns)
    return [tuple(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for v in row) for row in rows]


def test_an_insert_is_compiled_once_per_shape_and_writes_what_bulk_create_writes(monkeypatch):
    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    correlation_id = uuid.uuid4()
    first_sql, _params = insert_statement(AuditEvent, _AUDIT_FIELDS, _events(tenant, user, 3, correlation_id),
                                          using="default")
    compiles = []
    monkeypatch.setattr(compiled.sql, "InsertQuery", lambda *a, **k: compiles.append(a) or None)
    events = _events(tenant, user, 3, correlation_id)
    statement, params = insert_statement(AuditEvent, _AUDIT_FIELDS, events, using="default")
    monkeypatch.undo()
    assert statement == first_sql and compiles == []  # the same shape: bound, not compiled again
    assert "UNNEST" not in statement and len(params) == 3 * len(_AUDIT_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    expected = _events(tenant, user, 3, correlation_id)
    AuditEvent.objects.bulk_create(expected)

    assert _stored([e.pk for e in events]) == _stored([e.pk for e in expected])
    assert len(_stored([e.pk for e in events])) == 3
    assert {e.activity_date_time for e in events} == set(
        AuditEvent.objects.filter(pk__in=[e.pk for e in events]).values_list("activity_date_time", flat=True))


def test_another_number_of_rows_is_another_shape():
    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    two, _ = insert_statement(AuditEvent, _AUDIT_FIELDS, _events(tenant, user, 2, uuid.uuid4()), using="default")
    one, params = insert_statement(AuditEvent, _AUDIT_FIELDS, _events(tenant, user, 1, uuid.uuid4()), using="default")
    assert two != one and len(params) == len(_AUDIT_FIELDS)


def test_an_inserted_rows_pre_save_values_are_set_as_save_sets_them():
    """auto_now fields get their value on every call, the cached ones too (pre_save, as the compiler calls it)."""
    tenant = TenantFactory()
    fields = [f for f in User._meta.local_concrete_fields if not f.generated]
    for name in ("first@fabrikam.example", "second@fabrikam.example"):
        user = User(tenant=tenant, user_principal_name=name, mail=name, display_name=name)
        statement, params = insert_statement(User, fields, [user], using="default")
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
        stored = User.objects.get(pk=user.pk)
        assert user.created_at is not None and user.updated_at is not None
        assert (stored.created_at, stored.updated_at, stored.mail) == (user.created_at, user.updated_at, name)


def test_a_value_that_is_an_expression_is_compiled_with_it():
    tenant = TenantFactory()
    fields = [f for f in User._meta.local_concrete_fields if not f.generated]
    plain = User(tenant=tenant, user_principal_name="p@fabrikam.example", mail="p@fabrikam.example")
    insert_statement(User, fields, [plain], using="default")  # the shape's plain SQL is cached
    user = User(tenant=tenant, user_principal_name="q@fabrikam.example", mail="q@fabrikam.example",
                external_user_state_changed_at=Now())
    statement, params = insert_statement(User, fields, [user], using="default")
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    assert User.objects.get(mail="q@fabrikam.example").external_user_state_changed_at is not None
    again = User(tenant=tenant, user_principal_name="r@fabrikam.example", mail="r@fabrikam.example")
    assert insert_statement(User, fields, [again], using="default")[0] != statement  # the cached SQL is intact
