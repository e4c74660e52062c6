"""Taking access away: what a package gave goes, what the person holds directly (added before or after
delivery) or through another package stays; the PostgreSQL statements and the portable path agree."""

import pytest
from django.db import connection

from directory.actors import Actor
from directory.models import AppRoleAssignment, AuditEvent, ManagedAccess, OutboxMessage
from directory.services import app_assignment_create, group_member_add, group_member_remove
from entitlements import services
from entitlements.models import Assignment

from .scenario import T, later, member, system, tailwind

pytestmark = pytest.mark.django_db

PATHS = [
    pytest.param(False, id="portable"),
    pytest.param(True, id="postgresql", marks=pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the set-based statements are PostgreSQL's")),
]


def _give(s, user, package=None, policy=None):
    request = services.request_admin_add(actor=s.admin_actor, package=package or s.package,
                                         policy=policy or s.package_policy, target=user)
    return services.request_deliver(actor=system(), request_id=request.pk)


def _expire(set_based: bool, package=None) -> int:
    ids = Assignment.objects.filter(state="delivered", **({"package": package} if package else {})
                                    ).values_list("pk", flat=True)
    return services.assignments_revoke(actor=system(), assignment_ids=list(ids), ended_by="expired",
                                       now=later(days=31), set_based=set_based)


def _setup():
    s = tailwind()
    s.package_policy = s.policy()
    return s


def _holds(s, user) -> tuple[bool, bool]:
    return (s.group.members.filter(pk=user.pk).exists(),
            AppRoleAssignment.objects.filter(application=s.app, user=user).exists())


@pytest.mark.parametrize("set_based", PATHS)
def test_access_held_directly_before_delivery_survives_expiry(set_based):
    s = _setup()
    ann = member(s)
    group_member_add(actor=s.admin_actor, group=s.group, user=ann)
    app_assignment_create(actor=s.admin_actor, application=s.app, user=ann)
    _give(s, ann)
    assert not ManagedAccess.objects.filter(user=ann).exists()
    assert _expire(set_based) == 1
    assert _holds(s, ann) == (True, True)


@pytest.mark.parametrize("set_based", PATHS)
def test_access_added_directly_after_delivery_survives_expiry(set_based):
    s = _setup()
    ann, bob = member(s), member(s)
    _give(s, ann)
    _give(s, bob)
    assert ManagedAccess.objects.filter(user=ann).count() == 2  # the membership and the app assignment
    # An admin adds Ann directly to what she already has through the package: now hers (and audited).
    added = AuditEvent.objects.filter(activity_display_name="Add member to group").count()
    assert group_member_add(actor=s.admin_actor, group=s.group, user=ann) is True
    assert app_assignment_create(actor=s.admin_actor, application=s.app, user=ann).user_id == ann.pk
    assert not ManagedAccess.objects.filter(user=ann).exists()
    assert AuditEvent.objects.filter(activity_display_name="Add member to group").count() == added + 1
    assert _expire(set_based) == 2
    assert _holds(s, ann) == (True, True)
    assert _holds(s, bob) == (False, False)
    assert not ManagedAccess.objects.exists()


@pytest.mark.parametrize("set_based", PATHS)
def test_two_packages_keep_the_group_until_the_last_one_ends(set_based):
    s = _setup()
    second = services.package_create(actor=s.admin_actor, catalog=s.catalog, display_name="Also the group")
    services.role_scope_add(actor=s.admin_actor, package=second, resource=s.group_resource, role="Member")
    second_policy = services.policy_create(actor=s.admin_actor, package=second, display_name="P2",
                                           allowed_target_scope=T.ALL_MEMBER_USERS, expiration_type="noExpiration")
    ann = member(s)
    _give(s, ann)
    _give(s, ann, package=second, policy=second_policy)
    assert _expire(set_based, package=s.package) == 1
    assert _holds(s, ann) == (True, False)  # the group still through the second package; the app was only the first's
    assert _expire(set_based, package=second) == 1
    assert _holds(s, ann) == (False, False)


@pytest.mark.parametrize("set_based", PATHS)
def test_a_direct_removal_while_the_package_lasts_is_not_undone_or_audited_again(set_based):
    s = _setup()
    ann = member(s)
    _give(s, ann)
    group_member_remove(actor=s.admin_actor, group=s.group, user=ann)
    assert not ManagedAccess.objects.filter(user=ann, kind="member").exists()
    removals = AuditEvent.objects.filter(activity_display_name="Remove member from group").count()
    assert _expire(set_based) == 1
    assert AuditEvent.objects.filter(activity_display_name="Remove member from group").count() == removals
    assert _holds(s, ann) == (False, False)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the PostgreSQL statements")
def test_the_postgresql_statements_write_the_rows_the_portable_path_writes():
    """Same audit rows (activity, tenant, targets, details, initiator), same search keys, same e-mails."""
    def run(set_based: bool, slug: str):
        s = tailwind(slug=slug)
        s.package_policy = s.policy()
        people = [member(s, preferred_language=lang, display_name=f"Person {n}", mail=f"p{n}@{slug}.example",
                         user_principal_name=f"p{n}@{slug}.example") for n, lang in enumerate(("", "de-DE", "en"))]
        for person in people:
            _give(s, person)
        since = AuditEvent.objects.order_by("-activity_date_time").values_list("activity_date_time", flat=True)[0]
        ids = list(Assignment.objects.filter(tenant=s.tenant).values_list("pk", flat=True))
        services.assignments_revoke(actor=system(), assignment_ids=ids, ended_by="expired", now=later(days=31),
                                    set_based=set_based)
        events = AuditEvent.objects.filter(tenant=s.tenant, activity_date_time__gt=since)
        replace = {str(s.tenant.pk): "T", str(s.group.pk): "G", str(s.app.pk): "A", slug: "S",
                   **{str(p.pk): f"U{n}" for n, p in enumerate(people)},
                   **{str(pk): f"X{n}" for n, pk in enumerate(sorted(ids, key=lambda pk: Assignment.objects.get(
                       pk=pk).target.display_name))}}

        def neutral(value):
            text = str(value)
            for old, new in replace.items():
                text = text.replace(old, new)
            return text

        rows = sorted(neutral((e.activity_display_name, e.category, e.operation_type, e.initiated_by,
                               e.target_resources, e.additional_details, e.result))
                      for e in events)
        keys = sorted(str((e.activity_display_name, sorted(neutral(k) for k in set(e.search_keys)))) for e in events)
        mails = sorted(neutral((m.to, m.subject, m.text, m.html, m.dedupe_key is not None, m.status))
                       for m in OutboxMessage.objects.filter(tenant=s.tenant, dedupe_key__endswith=":ended"))
        return rows, keys, mails

    portable = run(False, "tailwind-a")
    statements = run(True, "tailwind-b")
    assert len(portable[0]) == 3 + 3 + 3 and len(portable[2]) == 3
    assert any("Zugriff" in mail for mail in portable[2])  # the German holder's message is German
    assert statements == portable


@pytest.mark.parametrize("set_based", PATHS)
def test_revoking_twice_changes_nothing_the_second_time(set_based):
    s = _setup()
    ann = member(s)
    _give(s, ann)
    ids = list(Assignment.objects.values_list("pk", flat=True))
    assert services.assignments_revoke(actor=system(), assignment_ids=ids, ended_by="removed",
                                       set_based=set_based) == 1
    counts = (AuditEvent.objects.count(), OutboxMessage.objects.count())
    assert services.assignments_revoke(actor=system(), assignment_ids=ids, ended_by="removed",
                                       set_based=set_based) == 0
    assert (AuditEvent.objects.count(), OutboxMessage.objects.count()) == counts


def test_a_person_removing_in_another_tenant_is_refused():
    from django.core.exceptions import PermissionDenied

    s = _setup()
    other = tailwind(slug="other")
    ann = member(s)
    _give(s, ann)
    with pytest.raises(PermissionDenied):
        services.assignments_revoke(actor=Actor.for_user(other.admin), ended_by="removed",
                                    assignment_ids=list(Assignment.objects.values_list("pk", flat=True)))


def test_a_member_list_that_leaves_someone_out_drops_their_package_marker_too():
    from directory.services import group_update

    s = _setup()
    ann = member(s)
    _give(s, ann)
    group_update(actor=s.admin_actor, group=s.group, changes={"members": []})
    assert not ManagedAccess.objects.filter(user=ann, kind="member").exists()
    # Added back directly through the list: hers, so the package's end leaves it.
    group_update(actor=s.admin_actor, group=s.group, changes={"members": [ann]})
    assert _expire(False) == 1
    assert _holds(s, ann) == (True, False)
