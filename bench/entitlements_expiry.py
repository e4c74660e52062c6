"""The expiry sweep: N due assignments (each with a group membership and an app assignment it gave)
expired by ``entitlements.services.assignments_expire_due`` — access removed, audit rows and "Access has
ended" e-mails written — beside a raw SQL ``UPDATE`` of the same rows' state, in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_em REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/entitlements_expiry.py

With REDIS_URL the e-mails' delivery tasks are queued for a worker, as in production (without it they
would be sent in this process, and the figure would be the mail server's). Use a scratch Redis database:
nothing consumes the queued tasks.

Goal: the sweep ≤ 3× the raw UPDATE. The baseline UPDATE runs twice (before the sweep and after a
re-seed) inside a transaction that is rolled back, so it measures the same rows in the same state.

Beside it, the **floor**: the rows the sweep must write, written by the plainest hand-written SQL in one
rolled-back transaction: the same UPDATE, the three DELETEs of the managed access, memberships and app
assignments, three audit rows per assignment (targets and search keys of the same shape and size) and
one outbox row per assignment. sweep / floor says how much the sweep adds to the rows it writes;
floor / UPDATE is what those rows cost, whatever the code.
"""

import argparse
import time
import uuid
from datetime import timedelta

from _common import ROOT, migrate, seed_users, setup_django


def seed(n: int):
    from django.utils import timezone

    from directory.models import Application, AppRoleAssignment, Group, ManagedAccess, Tenant
    from entitlements.models import AccessPackage, Assignment, AssignmentPolicy, Catalog, CatalogResource, Grant

    # A new tenant per seed (this is a scratch database): deleting 100,000 users first would dominate.
    tag = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.create(name=f"Bench EM {tag}", slug=f"bench-em-{tag}", initial_domain=f"{tag}.bench.example")
    group = Group.objects.create(tenant=tenant, display_name="Bench group")
    app = Application.objects.create(tenant=tenant, display_name="Bench app")
    catalog = Catalog.objects.create(tenant=tenant, display_name="Bench")
    group_resource = CatalogResource.objects.create(tenant=tenant, catalog=catalog, origin_system="AadGroup", group=group)
    app_resource = CatalogResource.objects.create(tenant=tenant, catalog=catalog, origin_system="AadApplication",
                                                  application=app)
    package = AccessPackage.objects.create(tenant=tenant, catalog=catalog, display_name="Bench package")
    policy = AssignmentPolicy.objects.create(tenant=tenant, package=package, display_name="Bench")
    past = timezone.now() - timedelta(hours=1)

    def with_each_batch(users, _start) -> None:
        Group.members.through.objects.bulk_create(Group.members.through(group_id=group.pk, user_id=u.pk)
                                                  for u in users)
        AppRoleAssignment.objects.bulk_create(AppRoleAssignment(tenant=tenant, application=app, user=u)
                                              for u in users)
        # Held for the package only (what delivery records), so expiry takes both away.
        ManagedAccess.objects.bulk_create(
            [ManagedAccess(tenant=tenant, user=u, kind="member", group=group) for u in users]
            + [ManagedAccess(tenant=tenant, user=u, kind="app", application=app) for u in users])
        assignments = Assignment.objects.bulk_create(
            Assignment(id=uuid.uuid4(), tenant=tenant, package=package, policy=policy, target=u,
                       state="delivered", status="Delivered", expires_at=past) for u in users)
        Grant.objects.bulk_create(
            [Grant(assignment=a, user_id=a.target_id, resource=group_resource, role="Member") for a in assignments]
            + [Grant(assignment=a, user_id=a.target_id, resource=app_resource, role="DefaultAccess")
               for a in assignments])

    seed_users(tenant, n, with_each_batch)
    return tenant


def baseline_seconds() -> float:
    """The same rows' state changed by one raw UPDATE, rolled back."""
    from django.db import connection, transaction

    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE entitlements_assignment SET state = 'expired', status = 'Expired', expired_at = now() "
                           "WHERE state = 'delivered' AND expires_at <= now()")
            rows = cursor.rowcount
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    assert rows > 0
    return elapsed


def floor_seconds(tenant) -> float:
    """The rows the sweep writes, by plain SQL, rolled back (see the module's docstring)."""
    from django.db import connection, transaction

    target = ("jsonb_build_object('id', {id}::text, 'type', '{type}', 'displayName', {name}, "
              "'userPrincipalName', {upn}, 'modifiedProperties', '[]'::jsonb)")
    user = target.format(id="u.id", type="User", name="u.display_name", upn="u.user_principal_name")
    thing = target.format(id="a.id", type="AccessPackageAssignment", name="'Bench package'", upn="NULL")
    keys = ("jsonb_build_array('i:bench', 't:' || a.id::text, 't:bench package', 't:' || u.id::text, "
            "'t:' || lower(u.display_name), 't:' || lower(u.user_principal_name), 't:' || lower(u.mail))")
    statements = [
        "UPDATE entitlements_assignment SET state = 'expired', status = 'Expired', expired_at = now() "
        "WHERE state = 'delivered' AND expires_at <= now() AND tenant_id = %(t)s",
        "DELETE FROM directory_managedaccess WHERE tenant_id = %(t)s",
        "DELETE FROM directory_group_members m USING directory_group g WHERE g.id = m.group_id AND g.tenant_id = %(t)s",
        "DELETE FROM directory_approleassignment WHERE tenant_id = %(t)s",
        f"""INSERT INTO directory_auditevent (id, tenant_id, activity_date_time, activity_display_name, category,
                operation_type, logged_by_service, correlation_id, initiated_by, initiated_by_account_id,
                initiated_by_user_id, result, result_reason, target_resources, additional_details, search_keys)
            SELECT gen_random_uuid(), a.tenant_id, now(), 'Access package assignment expired', 'EntitlementManagement',
                   'Update', 'Core Directory', gen_random_uuid(), '{{"app": {{"displayName": "bench"}}}}'::jsonb,
                   NULL, NULL, 'success', '', jsonb_build_array({thing}, {user}), '[]'::jsonb, {keys}
            FROM entitlements_assignment a JOIN directory_user u ON u.id = a.target_id
            CROSS JOIN generate_series(1, 3)
            WHERE a.tenant_id = %(t)s""",
        """INSERT INTO directory_outboxmessage (id, tenant_id, dedupe_key, from_email, "to", cc, subject,
                body_text, body_html, shared_body_id, secrets, status, attempts, created_at, next_attempt_at,
                last_error)
            SELECT gen_random_uuid(), a.tenant_id, 'floor:' || a.id::text, 'bench@example.com',
                   jsonb_build_array(u.mail), '[]'::jsonb, 'Access has ended', '', '', NULL, '[]'::jsonb, 'pending',
                   0, now(), now(), ''
            FROM entitlements_assignment a JOIN directory_user u ON u.id = a.target_id WHERE a.tenant_id = %(t)s""",
    ]
    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement, {"t": tenant.pk})
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign keys' checks, as a commit runs them
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", type=int, default=100_000)
    parser.add_argument("--code", default=str(ROOT))
    args = parser.parse_args()
    from pathlib import Path

    setup_django(Path(args.code))
    from directory.actors import Actor
    from directory.models import AppRoleAssignment, AuditEvent, Group, OutboxMessage
    from entitlements.services import assignments_expire_due

    started = time.perf_counter()
    migrate()
    print(f"migrated in {time.perf_counter() - started:.0f} s")
    from django.db import connection

    with connection.cursor() as cursor:  # what an earlier, interrupted run left due is not this run's
        cursor.execute("UPDATE entitlements_assignment SET state = 'expired' WHERE state = 'delivered'")
    started = time.perf_counter()
    tenant = seed(args.assignments)
    print(f"seeded {args.assignments} due assignments in {time.perf_counter() - started:.0f} s")
    before = baseline_seconds()
    floors = [floor_seconds(tenant)]
    started = time.perf_counter()
    expired = assignments_expire_due(actor=Actor.system(None, "bench"))
    sweep = time.perf_counter() - started
    assert expired == args.assignments, expired
    group = Group.objects.get(tenant=tenant)
    assert group.members.count() == 0 and not AppRoleAssignment.objects.filter(tenant=tenant).exists()
    audit_rows = AuditEvent.objects.filter(tenant=tenant).count()
    keys = sum(len(k) for k in AuditEvent.objects.filter(tenant=tenant).values_list("search_keys", flat=True))
    mails = OutboxMessage.objects.filter(tenant=tenant).count()
    tenant = seed(args.assignments)
    after = baseline_seconds()
    floors.append(floor_seconds(tenant))
    floor = sum(floors) / 2
    baseline = (before + after) / 2
    print(f"raw UPDATE of {args.assignments} rows: {before:.2f} s, {after:.2f} s (mean {baseline:.2f} s)")
    print(f"expiry sweep: {sweep:.2f} s for {expired} assignments, {args.assignments} memberships and "
          f"{args.assignments} app assignments removed, {audit_rows} audit rows ({keys} search keys), {mails} e-mails")
    print(f"the same rows by plain SQL (the floor): {floors[0]:.2f} s, {floors[1]:.2f} s (mean {floor:.2f} s)")
    print(f"ratio sweep / raw UPDATE: {sweep / baseline:.1f}× (goal ≤ 3×)")
    print(f"ratio floor / raw UPDATE: {floor / baseline:.1f}× (what the rows cost); sweep / floor: {sweep / floor:.2f}×")


if __name__ == "__main__":
    main()
