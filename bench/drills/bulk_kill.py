"""Drill 5: a bulk invitation job's worker killed (kill -9) mid-chunk.

    .venv/bin/python bench/drills/bulk_kill.py [--rows 3000] [--chunk-pause 0]

Uploads a CSV (with some bad and some repeated addresses) as a job that a worker processes, kills the
worker's process group with SIGKILL while a chunk's transaction is open (checked in
pg_stat_activity), starts a new worker and waits for the job to finish. Passes when the job finished,
every row is in the results exactly once, nobody was invited twice (one guest user, one invitation and
at most one invitation e-mail per address) and every e-mail reached the SMTP sink exactly once.
"""

import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Drill, log, wait_until


def main() -> int:
    parser = harness.arguments(__doc__.split("\n\n")[0], limit=240)
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--sweep-seconds", type=int, default=5, help="beat's bulk and outbox sweep interval")
    args = parser.parse_args()

    with Drill("bulk-kill", limit=args.limit, keep=args.keep) as drill:
        drill.start_services()
        drill.extra_env.update({"BULK_SWEEP_SECONDS": str(args.sweep_seconds),
                                "OUTBOX_SWEEP_SECONDS": str(args.sweep_seconds)})
        harness.setup_django(drill)
        ok = run(drill, args)
    harness.print_figures(drill, as_json=args.json, ok=ok)
    return 0 if ok else 1


def csv_source(rows: int) -> tuple[str, int, int]:
    lines = ["email,display name,send message"]
    bad = repeated = 0
    for i in range(rows):
        if i % 50 == 7:
            lines.append(f"broken-{i}@@partner.example,,true")
            bad += 1
        elif i % 50 == 31:
            lines.append(f"guest{i - 1}@partner.example,Again,true")
            repeated += 1
        else:
            # Every fifth row asks for the invitation e-mail: enough to count, quick to deliver.
            lines.append(f"guest{i}@partner.example,Guest {i},{'true' if i % 5 == 0 else 'false'}")
    return "\r\n".join(lines) + "\r\n", bad, repeated


def open_chunk_transactions() -> int:
    """Transactions of other sessions that are open right now (a chunk being written)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL")
        return cursor.fetchone()[0]


def run(drill: Drill, args) -> bool:
    from django.db.models import Count
    from django.db.models.functions import Lower

    from directory.models import OutboxMessage, User
    from invitations import bulk
    from invitations.models import BulkInvitationJob, Invitation

    tenant, _account, actor = harness.tenant_with_admin()
    source, bad, repeated = csv_source(args.rows)
    drill.beat()
    worker = drill.worker("worker1", concurrency=1)
    job = bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name="drill.csv", source=source)
    log(f"uploaded a {args.rows}-row file ({bad} bad, {repeated} repeated addresses) as job {job.pk}; "
        f"chunks of {bulk.CHUNK_SIZE}")

    def processed() -> int:
        return BulkInvitationJob.objects.values_list("processed_rows", flat=True).get(pk=job.pk)

    # The first chunk commits; the second one is being written when the worker dies.
    started = time.monotonic()
    if not wait_until(lambda: processed() >= bulk.CHUNK_SIZE, timeout=drill.remaining(120), interval=0.05,
                      what="the first chunk"):
        drill.report(provoked="nothing: the first chunk never committed")
        return False
    first_chunk = time.monotonic() - started
    at_first = processed()
    mid_chunk = wait_until(lambda: open_chunk_transactions() and processed() == at_first,
                           timeout=30, interval=0.01)
    open_transactions = open_chunk_transactions()
    worker.kill()
    worker.popen.wait(timeout=10)
    at_kill = processed()
    log(f"PROVOKED: kill -9 of the worker (first chunk took {first_chunk:.1f} s) with {at_kill} of {args.rows} "
        f"rows committed and {open_transactions} chunk transaction(s) open"
        + ("" if mid_chunk else " — NOT mid-chunk"))

    drill.worker("worker-new", concurrency=1)
    resume_started = time.monotonic()
    finished = wait_until(lambda: BulkInvitationJob.objects.get(pk=job.pk).state in ("finished", "failed"),
                          timeout=drill.remaining(60), interval=0.2, what="the job to finish")
    resumed_after = time.monotonic() - resume_started
    job.refresh_from_db()
    outbox = {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}
    wait_until(lambda: len(harness.copies_by_outbox_id(drill.sink).keys() & outbox) >= len(outbox),
               timeout=drill.remaining(30), interval=0.2, what="every invitation e-mail")
    time.sleep(min(5.0, drill.remaining(10)))

    rows = bulk.results_rows(job.pk)
    row_numbers = collections.Counter(row["row"] for row in rows)
    results = collections.Counter(row["result"] for row in rows)
    users_per_address = User.objects.filter(tenant=tenant).exclude(pk=actor.user.pk).annotate(
        address=Lower("mail")).values("address").annotate(n=Count("pk")).filter(n__gt=1).count()
    invitations_per_address = Invitation.objects.filter(tenant=tenant).annotate(address=Lower("invited_email")) \
        .values("address").annotate(n=Count("pk")).filter(n__gt=1).count()
    mail = harness.mail_figures(drill.sink, outbox)
    expected_created = args.rows - bad - repeated
    drill.report(
        provoked=f"kill -9 of the bulk worker at {at_kill}/{args.rows} rows, chunk transaction open: "
                 f"{bool(mid_chunk)}",
        job_state=job.state, resumed_and_finished_seconds=round(resumed_after, 1) if finished else None,
        result_rows=len(rows), rows_missing=args.rows - len(row_numbers),
        rows_twice=sum(1 for n in row_numbers.values() if n > 1),
        results=dict(results), created_expected=expected_created,
        invitations=Invitation.objects.filter(tenant=tenant).count(),
        addresses_invited_twice=invitations_per_address, addresses_with_two_users=users_per_address,
        outbox_messages=len(outbox), **mail,
    )
    return (job.state == "finished" and len(rows) == args.rows and len(row_numbers) == args.rows
            and results.get("created") == expected_created and invitations_per_address == 0
            and users_per_address == 0 and mail["duplicated"] == 0 and mail["lost"] == 0
            and len(outbox) == sum(1 for row in rows if row["result"] == "created" and row["reason"].startswith(
                "Invitation e-mail queued")))


if __name__ == "__main__":
    sys.exit(main())
