"""Benchmark: a 50,000-row bulk invitation, processed synchronously (not collected by pytest).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench .venv/bin/python bench/bench_bulk_invite.py

It creates a throw-away database with Django's test-database machinery (``test_<name>`` of
DATABASE_URL; SQLite when unset), a tenant with an admin, and a CSV of ``--rows`` rows (by default
1 % bad addresses and 1 % repeated ones, the rest new guests with the invitation e-mail), then runs
``bulk_invitation_job_process`` in this process and prints rows/s. For a ratio that does not depend on
the machine it also times ``--single`` calls of ``invitation_create`` (the per-row path) and prints how
many times faster the bulk path is per row. Publishing the outbox delivery tasks goes to an in-memory
broker, so e-mail sending is not part of the figure; ``--deliver N`` times delivering N of the queued
messages (Django's dummy e-mail backend) separately.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--no-send", action="store_true", help="rows without the invitation e-mail")
    parser.add_argument("--single", type=int, default=500, help="invitation_create calls for the ratio (0: skip)")
    parser.add_argument("--deliver", type=int, default=2_000, help="outbox messages to deliver (0: skip)")
    parser.add_argument("--keepdb", action="store_true", help="keep the test database afterwards")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.pop("REDIS_URL", None)  # tasks are published to an in-memory broker and not run
    os.environ.pop("EMAIL_URL", None)  # the dummy e-mail backend
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from config import celery_app

    celery_app.conf.task_always_eager = False  # publishing only: delivery is timed on its own below
    setup_test_environment()
    settings.SITE_URL = "https://portal.bench.example"
    old_name = connection.settings_dict["NAME"]
    print(f"database: {connection.vendor}, creating a test database …", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=args.keepdb)
    try:
        run(args)
    finally:
        if not args.keepdb:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args) -> None:
    from directory.actors import Actor
    from directory.models import Account, AuditEvent, OutboxMessage, Role, RoleAssignment, Tenant, User
    from invitations import bulk
    from invitations.bulk import runner
    from invitations.models import BulkInvitationJob, Invitation
    from invitations.services import invitation_create

    suffix = str(int(time.time()))
    tenant = Tenant.objects.create(name="Bench Traders", slug=f"bench{suffix}", initial_domain=f"bench{suffix}.example")
    account = Account.objects.create_user(f"admin@{tenant.initial_domain}", None, is_staff=True)
    admin = User.objects.create(tenant=tenant, account=account, display_name="Bench Admin",
                                user_principal_name=account.email, mail=account.email)
    RoleAssignment.objects.create(tenant=tenant, user=admin, role=Role.GLOBAL_ADMINISTRATOR)
    actor = Actor.for_account(account, tenant)

    send = "false" if args.no_send else "true"
    lines = ["email,display name,redirect URL,send message,custom message"]
    bad = duplicates = 0
    for i in range(args.rows):
        if i % 100 == 37:
            lines.append(f"broken-{i}@@partner.example,,,{send},")
            bad += 1
        elif i % 100 == 71:
            lines.append(f"guest{i - 1}@partner{(i - 1) % 7}.example,Again,,{send},")
            duplicates += 1
        else:
            lines.append(f"guest{i}@partner{i % 7}.example,Guest {i},https://apps.bench.example/start,{send},"
                         f"\"Welcome to Bench Traders, guest {i}.\"")
    source = "\r\n".join(lines) + "\r\n"
    print(f"CSV: {args.rows:,} rows, {len(source.encode()) / 1024 / 1024:.1f} MB "
          f"({bad} bad addresses, {duplicates} repeated ones)", flush=True)

    started = time.perf_counter()
    job = bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name="bench.csv", source=source,
                                          enqueue=False)
    upload_seconds = time.perf_counter() - started

    chunk_times: list[float] = []
    real_chunk = runner._process_next_chunk

    def timed_chunk(*a, **kw):
        t0 = time.perf_counter()
        try:
            return real_chunk(*a, **kw)
        finally:
            chunk_times.append(time.perf_counter() - t0)

    runner._process_next_chunk = timed_chunk
    kwargs = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    started = time.perf_counter()
    job = bulk.bulk_invitation_job_process(job_id=job.pk, **kwargs)
    seconds = time.perf_counter() - started
    runner._process_next_chunk = real_chunk

    job = BulkInvitationJob.objects.get(pk=job.pk)
    results = bulk.results_rows(job.pk)
    assert job.state == "finished", job.state
    assert len(results) == args.rows, len(results)
    assert job.error_count == bad and job.existing_count == duplicates, (job.error_count, job.existing_count)
    created = args.rows - bad - duplicates
    assert job.created_count == created == Invitation.objects.filter(tenant=tenant).count()
    assert User.objects.filter(tenant=tenant).guests().count() == created
    assert AuditEvent.objects.filter(tenant=tenant, correlation_id=job.pk).count() == 2 * created
    assert OutboxMessage.objects.filter(tenant=tenant).count() == (0 if args.no_send else created)

    rate = args.rows / seconds
    print(f"upload check and job: {upload_seconds:.2f} s")
    print(f"bulk: {args.rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s "
          f"({len(chunk_times)} chunks; median chunk {statistics.median(chunk_times) * 1000:.0f} ms, first "
          f"{chunk_times[0] * 1000:.0f} ms, last {chunk_times[-2 if len(chunk_times) > 1 else -1] * 1000:.0f} ms)")
    print(f"results CSV: {len(job.results.encode()) / 1024 / 1024:.1f} MB (written once, at the end)")

    if args.single:
        started = time.perf_counter()
        for i in range(args.single):
            invitation_create(actor=actor, tenant=tenant, email=f"single{i}@partner.example",
                              redirect_url="https://apps.bench.example/start", display_name=f"Single {i}",
                              send_message=not args.no_send, message_body=f"Welcome, single {i}.")
        single_seconds = time.perf_counter() - started
        single_rate = args.single / single_seconds
        print(f"single: {args.single} × invitation_create in {single_seconds:.1f} s = {single_rate:,.0f} rows/s")
        print(f"ratio: the bulk path is {rate / single_rate:.1f}× faster per row than invitation_create")

    if args.deliver and not args.no_send:
        from directory.delivery import outbox_deliver

        ids = list(OutboxMessage.objects.filter(status="pending").values_list("pk", flat=True)[:args.deliver])
        started = time.perf_counter()
        sent = sum(outbox_deliver(message_id=pk) for pk in ids)
        deliver_seconds = time.perf_counter() - started
        print(f"delivery (dummy e-mail backend, one worker): {sent:,} messages in {deliver_seconds:.1f} s = "
              f"{sent / deliver_seconds:,.0f} messages/s")


if __name__ == "__main__":
    main()
