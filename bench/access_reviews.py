"""An access review of a group with N guests: starting the instance (N decision items with their
recommendation from the sign-in log, N reviewer rows, the owner's mail) and ending it (the default
decision Deny for everyone, auto-applied: N memberships removed and audited), each beside a raw SQL
statement doing the bare row work in the same run (rolled back):

- start ↔ ``INSERT … SELECT`` of the group's members into a copy of the decision table (same indexes);
- end ↔ ``DELETE`` of the group's memberships.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_reviews REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/access_reviews.py --guests 20000

No goal yet: the figures say where the time goes. The start is one query for the holders and bulk inserts
(its ratio is the ORM's cost per row); the end is dominated by one audit row (and its search keys) per
removed membership, which the raw DELETE does not write.
"""

import argparse
import time
import uuid
from datetime import timedelta
from pathlib import Path

from _common import ROOT, migrate, setup_django


def seed(n: int):
    from django.db import connection, transaction
    from django.utils import timezone

    from directory.models import Group, Tenant, User

    tag = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.create(name=f"Bench AR {tag}", slug=f"bench-ar-{tag}", initial_domain=f"{tag}.bench.example")
    group = Group.objects.create(tenant=tenant, display_name="Bench group")
    owner = User.objects.create(tenant=tenant, user_principal_name=f"owner@{tenant.initial_domain}",
                                mail=f"owner@{tenant.initial_domain}", display_name="Owner")
    group.owners.add(owner)
    long_ago, recently = timezone.now() - timedelta(days=90), timezone.now() - timedelta(days=2)
    with transaction.atomic():
        for start in range(0, n, 5000):
            users = User.objects.bulk_create(
                User(tenant=tenant, user_type="Guest", user_principal_name=f"g{i}_x.example#EXT#@{tenant.initial_domain}",
                     mail=f"g{i}@x.example", display_name=f"Guest {i}", created_at=long_ago,
                     last_sign_in_at=recently if i % 2 else None)
                for i in range(start, min(n, start + 5000)))
            Group.members.through.objects.bulk_create(Group.members.through(group_id=group.pk, user_id=u.pk)
                                                      for u in users)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return tenant, group


def raw_seconds(sql: str, params=(), prepare: str = "") -> float:
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            if prepare:
                cursor.execute(prepare)
            started = time.perf_counter()
            cursor.execute(sql, params)
            elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guests", type=int, default=20_000)
    parser.add_argument("--code", default=str(ROOT))
    args = parser.parse_args()
    setup_django(Path(args.code))
    from django.utils import timezone

    from directory.actors import Actor
    from directory.models import AuditEvent, Group
    from entitlements.models import AccessReviewDecision, AccessReviewInstance
    from entitlements.services import access_reviews_sweep, review_definition_create

    migrate()
    tenant, group = seed(args.guests)
    members = Group.members.through._meta.db_table
    decisions = AccessReviewDecision._meta.db_table
    insert = (f"INSERT INTO bench_decisions (id, instance_id, principal_id, access_kind, decision, recommendation, "
              f"justification, by_default, apply_result) SELECT gen_random_uuid(), %s, user_id, 'groupMember', "
              f"'NotReviewed', 'Deny', '', false, 'New' FROM {members} WHERE group_id = %s")
    review_definition_create(actor=Actor.operator(), tenant=tenant, display_name="Bench", scope_kind="group",
                             group=group, guests_only=True, default_decision_enabled=True, default_decision="Deny",
                             auto_apply_decisions_enabled=True, start_at=timezone.now() - timedelta(minutes=1))
    system = Actor.system(None, "bench")
    started = time.perf_counter()
    access_reviews_sweep(actor=system)
    start = time.perf_counter() - started
    instance = AccessReviewInstance.objects.get(definition__tenant=tenant)
    items = instance.decisions.count()
    assert items == args.guests, items
    deny = instance.decisions.filter(recommendation="Deny").count()
    raw_insert = raw_seconds(insert, [instance.pk, group.pk],
                             prepare=f"CREATE TEMP TABLE bench_decisions (LIKE {decisions} INCLUDING ALL)")
    raw_delete = raw_seconds(f"DELETE FROM {members} WHERE group_id = %s", [group.pk])
    started = time.perf_counter()
    done = access_reviews_sweep(actor=system, now=timezone.now() + timedelta(days=4))
    end = time.perf_counter() - started
    assert done["applied"] == 1 and not group.members.exists()
    audited = AuditEvent.objects.filter(tenant=tenant, activity_display_name="Remove member from group").count()
    print(f"start: {start:.2f} s for {items} items ({deny} recommended Deny) and their reviewers; "
          f"raw INSERT … SELECT {raw_insert:.2f} s; ratio {start / raw_insert:.1f}×")
    print(f"end + apply: {end:.2f} s, {items} memberships removed, {audited} audit rows; raw DELETE {raw_delete:.2f} s; "
          f"ratio {end / raw_delete:.1f}×")


if __name__ == "__main__":
    main()
