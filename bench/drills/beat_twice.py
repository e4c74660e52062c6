"""Drill 4: beat run twice by mistake (two schedulers) while there is sweeping to do.

    .venv/bin/python bench/drills/beat_twice.py [--seconds 60] [--interval 2]

Starts two ``celery beat`` processes and two workers, with every sweep on a short interval
(``--interval`` seconds instead of a minute and an hour), and gives the sweeps work that only they
do: e-mails whose task was never published, an SMTP outage in the middle (failed messages come back
due after a one-second backoff), invitations created meanwhile, users deleted more than 30 days ago
(the purge), and a bulk job whose worker vanished (the bulk sweep). Passes when every e-mail reached
the SMTP sink exactly once, each deleted user was purged and audited once, and the bulk job finished
with each row once and nobody invited twice.
"""

import collections
import re
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Drill, log, wait_until


def main() -> int:
    parser = harness.arguments(__doc__.split("\n\n")[0], limit=300)
    parser.add_argument("--seconds", type=float, default=60, help="how long both schedulers run")
    parser.add_argument("--interval", type=float, default=2, help="every sweep's interval")
    parser.add_argument("--unpublished", type=int, default=300, help="e-mails only a sweep can send")
    parser.add_argument("--invitations", type=int, default=100, help="invitations created while the beats run")
    parser.add_argument("--deleted", type=int, default=200, help="users deleted 40 days ago (to purge)")
    parser.add_argument("--bulk-rows", type=int, default=1200, help="rows of the abandoned bulk job")
    args = parser.parse_args()

    with Drill("beat-twice", limit=args.limit, keep=args.keep) as drill:
        drill.start_services()
        interval = str(args.interval)
        drill.extra_env.update({"OUTBOX_SWEEP_SECONDS": interval, "BULK_SWEEP_SECONDS": interval,
                                "PURGE_SWEEP_SECONDS": interval, "OUTBOX_RETRY_BASE_SECONDS": "1"})
        harness.setup_django(drill)
        ok = run(drill, args)
    harness.print_figures(drill, as_json=args.json, ok=ok)
    return 0 if ok else 1


def run(drill: Drill, args) -> bool:
    from django.core.cache import cache
    from django.db.models import Count
    from django.db.models.functions import Lower
    from django.utils import timezone

    from directory.models import AuditEvent, OutboxMessage, User
    from directory.services import outbox_message
    from invitations import bulk
    from invitations.models import BulkInvitationJob, Invitation
    from invitations.services import invitation_create

    tenant, _account, actor = harness.tenant_with_admin()
    long_ago = timezone.now() - timedelta(days=40)
    doomed = User.objects.bulk_create([
        User(tenant=tenant, display_name=f"Gone {i}", user_principal_name=f"gone{i}@{tenant.initial_domain}",
             mail=f"gone{i}@{tenant.initial_domain}", deleted_at=long_ago) for i in range(args.deleted)])
    doomed_ids = {str(user.pk) for user in doomed}
    OutboxMessage.objects.bulk_create([
        outbox_message(tenant=tenant, to=[f"reader{i}@partner.example"], subject=f"Unpublished {i}",
                       body_text="Only a sweep sends this.") for i in range(args.unpublished)])
    # A job a worker had started (marked, half done) and then lost: only the bulk sweep continues it.
    source = harness.bulk_csv(args.bulk_rows, prefix="bulk", mail_every=10)
    job = bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name="abandoned.csv", source=source,
                                          enqueue=False)
    bulk.bulk_invitation_job_process(job_id=job.pk, time_budget=0)  # one chunk, then "out of time"
    cache.set(f"bulk-job-on-worker:{job.pk}", 1, 3600)
    log(f"prepared: {args.unpublished} e-mails without a task, {args.deleted} users deleted 40 days ago, a bulk "
        f"job abandoned at {BulkInvitationJob.objects.get(pk=job.pk).processed_rows}/{args.bulk_rows} rows")

    drill.worker("worker-a")
    drill.worker("worker-b")
    beats = [drill.beat("beat-a"), drill.beat("beat-b")]
    log(f"PROVOKED: two schedulers, every sweep each {args.interval:g} s, for {args.seconds:g} s")
    started = time.monotonic()
    created = 0
    sink_down = False
    while time.monotonic() - started < args.seconds and drill.remaining(60) > 0:
        elapsed = time.monotonic() - started
        if not sink_down and elapsed > args.seconds * 0.3 and elapsed < args.seconds * 0.5:
            drill.sink.stop()
            sink_down = True
            log("PROVOKED: SMTP sink down")
        elif sink_down and elapsed >= args.seconds * 0.5:
            drill.sink.start()
            sink_down = False
            log("SMTP sink back")
        if created < args.invitations:
            invitation_create(actor=actor, tenant=tenant, email=f"live{created}@partner.example",
                              redirect_url="https://apps.partner.example/", send_message=True)
            created += 1
        time.sleep(max(0.0, args.seconds / max(args.invitations, 1) - 0.05))
    if sink_down:
        drill.sink.start()
    for beat in beats:
        beat.stop()
    log("both schedulers stopped; letting the workers finish what was queued")

    expected = {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}
    wait_until(lambda: len(harness.copies_by_outbox_id(drill.sink).keys() & expected) >= len(expected)
               and BulkInvitationJob.objects.get(pk=job.pk).state == "finished",
               timeout=drill.remaining(40), interval=0.5, what="every e-mail and the bulk job")
    time.sleep(min(5.0, drill.remaining(10)))
    expected = {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}

    sweeps = {name: sum(len(re.findall(rf"Sending due task \S+ \({re.escape(name)}\)", b.log())) for b in beats)
              for name in ("directory.outbox_sweep", "invitations.bulk_sweep", "directory.users_purge_deleted")}
    purge_audits = AuditEvent.objects.filter(activity_display_name="Hard delete user")
    audited = collections.Counter(str(t.get("id")) for event in purge_audits for t in event.target_resources)
    job.refresh_from_db()
    rows = bulk.results_rows(job.pk)
    row_numbers = collections.Counter(row["row"] for row in rows)
    invited_twice = Invitation.objects.filter(tenant=tenant).annotate(a=Lower("invited_email")).values("a") \
        .annotate(n=Count("pk")).filter(n__gt=1).count()
    mail = harness.mail_figures(drill.sink, expected)
    statuses = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("pk")))
    drill.report(
        provoked=f"2 beats × {args.seconds:g} s at {args.interval:g} s intervals; SMTP down for "
                 f"{args.seconds * 0.2:.0f} s; {created} invitations created meanwhile",
        sweeps_scheduled=sweeps, **mail, outbox_status=statuses,
        deleted_users=args.deleted, purged=args.deleted - User.objects.filter(pk__in=doomed_ids).count(),
        purge_audit_events=purge_audits.count(), users_audited_twice=sum(1 for n in audited.values() if n > 1),
        users_purged_unaudited=len(doomed_ids - set(audited)),
        bulk_job=job.state, bulk_result_rows=len(rows), bulk_rows_twice=sum(1 for n in row_numbers.values() if n > 1),
        addresses_invited_twice=invited_twice,
    )
    return (mail["duplicated"] == 0 and mail["lost"] == 0 and not User.objects.filter(pk__in=doomed_ids).exists()
            and not any(n > 1 for n in audited.values()) and not (doomed_ids - set(audited))
            and job.state == "finished" and len(rows) == args.bulk_rows and len(row_numbers) == args.bulk_rows
            and invited_twice == 0)


if __name__ == "__main__":
    sys.exit(main())
