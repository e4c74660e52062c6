"""The expiry warnings: N delivered assignments ending within 14 days warned by
``entitlements.services.assignments_warn_expiring`` ("Extend access for [package] by [date]": each
assignment marked, one e-mail each) beside a raw SQL ``UPDATE`` of the same rows' ``warned_days``, in the
same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_em REDIS_URL=redis://127.0.0.1:6379/7 \
        .venv/bin/python bench/entitlements_warnings.py

With REDIS_URL the e-mails' delivery tasks are queued for a worker, as in production (without it they
would be sent in this process). Use a scratch Redis database: nothing consumes the queued tasks.

``--code PATH`` measures another checkout (e.g. ``git archive <commit> | tar -x -C /tmp/before``) on the
same kind of rows: the row-by-row warnings before they were set-based. The baseline UPDATE runs twice
(before the sweep and after it) inside a transaction that is rolled back, on the same rows.
"""

import argparse
import time
import uuid
from datetime import timedelta

from _common import ROOT, migrate, seed_users, setup_django

WINDOW = "state = 'delivered' AND expires_at > %s AND expires_at <= %s"


def seed(n: int, now):
    """N holders (a third German) whose assignments end from 1 hour to 14 days from ``now``, on 14 days."""
    from directory.models import Tenant
    from entitlements.models import AccessPackage, Assignment, AssignmentPolicy, Catalog

    tag = uuid.uuid4().hex[:8]
    tenant = Tenant.objects.create(name=f"Bench EMW {tag}", slug=f"bench-emw-{tag}",
                                   initial_domain=f"{tag}.bench.example")
    catalog = Catalog.objects.create(tenant=tenant, display_name="Bench")
    package = AccessPackage.objects.create(tenant=tenant, catalog=catalog, display_name="Bench package")
    policy = AssignmentPolicy.objects.create(tenant=tenant, package=package, display_name="Bench",
                                             enable_targets_to_self_update=True)

    def with_each_batch(users, first) -> None:
        Assignment.objects.bulk_create(
            Assignment(id=uuid.uuid4(), tenant=tenant, package=package, policy=policy, target=u, state="delivered",
                       status="Delivered", expires_at=now + timedelta(hours=1) + timedelta(days=i % 14, seconds=i))
            for i, u in enumerate(users, start=first))

    seed_users(tenant, n, with_each_batch)
    return tenant


def warm(tenant) -> None:
    """What a running worker has loaded already (URL patterns, templates, the tenant's branding): one
    message rendered, not stored."""
    from entitlements import emails
    from entitlements.services import approvals

    emails.notice(kind="extend", language="en", tenant=tenant, package="Bench package",
                  url=approvals.panel_url(tenant), date=tenant.created_at)


def baseline_seconds(now) -> float:
    """The same rows' ``warned_days`` set by one raw UPDATE, rolled back."""
    from django.db import connection, transaction

    with transaction.atomic():
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE entitlements_assignment SET warned_days = 14 WHERE {WINDOW}",
                           [now, now + timedelta(days=14)])
            rows = cursor.rowcount
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    assert rows > 0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", type=int, default=20_000)
    parser.add_argument("--code", default=str(ROOT))
    args = parser.parse_args()
    from pathlib import Path

    setup_django(Path(args.code))  # from the measured tree (see _common.setup_django)
    from django.db import connection
    from django.utils import timezone

    from directory.actors import Actor
    from directory.models import OutboxMessage
    from entitlements.services import assignments_warn_expiring

    started = time.perf_counter()
    migrate()
    print(f"migrated in {time.perf_counter() - started:.0f} s")
    with connection.cursor() as cursor:  # what an earlier, interrupted run left due is not this run's
        cursor.execute("UPDATE entitlements_assignment SET state = 'expired' WHERE state = 'delivered'")
    now = timezone.now()
    started = time.perf_counter()
    tenant = seed(args.assignments, now)
    print(f"seeded {args.assignments} assignments ending within 14 days in {time.perf_counter() - started:.0f} s")
    warm(tenant)
    before = baseline_seconds(now)
    started = time.perf_counter()
    warned = assignments_warn_expiring(actor=Actor.system(None, "bench"), now=now)
    sweep = time.perf_counter() - started
    assert warned == args.assignments, warned
    mails = OutboxMessage.objects.filter(tenant=tenant).count()
    assert mails == args.assignments, mails
    again = assignments_warn_expiring(actor=Actor.system(None, "bench"), now=now)
    assert again == 0, again
    after = baseline_seconds(now)
    baseline = (before + after) / 2
    print(f"raw UPDATE of {args.assignments} rows' warned_days: {before:.2f} s, {after:.2f} s (mean {baseline:.2f} s)")
    import entitlements.services.sweeps as code

    print(f"warning sweep ({Path(code.__file__).parents[2]}): {sweep:.2f} s for {warned} assignments and {mails} e-mails, "
          f"{warned / sweep:,.0f} warnings/s")
    print(f"ratio sweep / raw UPDATE: {sweep / baseline:.1f}×")


if __name__ == "__main__":
    main()
