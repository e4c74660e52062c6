"""Drill 1: a worker killed (kill -9) mid-delivery while 2,000 invitation e-mails are queued.

    .venv/bin/python bench/drills/worker_kill.py [--bulk 1800] [--single 200] [--kill-after 600]

Queues the invitation e-mails with no worker running (a bulk job's chunks, each one delivery task for
500 messages, and single invitations, each its own task), starts a worker (prefork, 2 processes) and
beat, kills the worker's whole process group with SIGKILL once ``--kill-after`` messages reached the
SMTP sink, starts a new worker and waits until every message arrived. Passes when each e-mail reached
the sink exactly once (counted by X-Portal-Message-Id, the outbox row) and the outbox has nothing
left pending.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Drill, log, wait_until


def main() -> int:
    parser = harness.arguments(__doc__.split("\n\n")[0], limit=300)
    parser.add_argument("--bulk", type=int, default=1800, help="invitations from one bulk job")
    parser.add_argument("--single", type=int, default=200, help="invitations created one by one")
    parser.add_argument("--kill-after", type=int, default=600, help="kill the worker after this many e-mails")
    parser.add_argument("--kills", type=int, default=1, help="how many workers to kill in turn")
    parser.add_argument("--sweep-seconds", type=int, default=10, help="beat's outbox sweep interval")
    args = parser.parse_args()

    with Drill("worker-kill", limit=args.limit, keep=args.keep) as drill:
        drill.start_services()
        # The in-flight task is redelivered within the drill (not after an hour), so its replay is tested too.
        drill.extra_env.update({"OUTBOX_SWEEP_SECONDS": str(args.sweep_seconds), "CELERY_VISIBILITY_TIMEOUT": "30"})
        harness.setup_django(drill)
        ok = run(drill, args)
    harness.print_figures(drill, as_json=args.json, ok=ok)
    return 0 if ok else 1


def run(drill: Drill, args) -> bool:
    from django.db.models import Count

    from directory.models import OutboxMessage
    from invitations import bulk
    from invitations.services import invitation_create

    tenant, _account, actor = harness.tenant_with_admin()
    started = time.monotonic()
    expected: set[str] = set()
    if args.bulk:
        job = bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name="drill.csv",
                                              source=harness.bulk_csv(args.bulk), enqueue=False)
        bulk.bulk_invitation_job_process(job_id=job.pk)
    for i in range(args.single):
        invitation_create(actor=actor, tenant=tenant, email=f"single{i}@partner.example",
                          redirect_url="https://apps.partner.example/", send_message=True)
    expected = {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}
    total = len(expected)
    log(f"queued {total} invitation e-mails ({args.bulk} from a bulk job, {args.single} single) in "
        f"{time.monotonic() - started:.1f} s; no worker is running yet")

    drill.beat()
    kills = []
    sink = drill.sink
    for n in range(args.kills):
        worker = drill.worker(f"worker{n + 1}")
        threshold = min(total - 1, len(sink.received) + args.kill_after)
        if not wait_until(lambda t=threshold: len(sink.received) >= t, timeout=drill.remaining(90), interval=0.01,
                          what=f"{threshold} e-mails"):
            break
        worker.kill()  # SIGKILL to the worker and its pool processes, mid-delivery
        worker.popen.wait(timeout=10)
        at_kill = len(sink.received)
        pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count()
        kills.append(at_kill)
        log(f"PROVOKED: kill -9 of worker{n + 1} (process group {worker.pid}) with {at_kill} of {total} e-mails "
            f"at the sink; {pending} pending in the outbox")

    recovery_started = time.monotonic()
    drill.worker("worker-new")
    wait_until(lambda: len(harness.copies_by_outbox_id(sink).keys() & expected) >= total,
               timeout=drill.remaining(margin=45), interval=0.2, what="every e-mail at the sink")
    recovered = time.monotonic() - recovery_started
    # Late copies would come from redelivered tasks (visibility timeout 30 s) and sweeps: watch longer.
    watch = min(35.0, drill.remaining(margin=10))
    log(f"every message arrived or the wait ended; watching {watch:.0f} s more for late duplicates "
        "(redelivered tasks, sweeps)")
    time.sleep(watch)

    figures = harness.mail_figures(sink, expected)
    statuses = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("pk")))
    drill.report(
        provoked=f"{len(kills)} × kill -9 of a prefork worker mid-delivery (at {kills} e-mails received)",
        queued=total, **figures,
        outbox_status=statuses,
        recovery_seconds=round(recovered, 1),
    )
    return figures["sent"] == total and figures["duplicated"] == 0 and figures["lost"] == 0 \
        and statuses.get(OutboxMessage.Status.PENDING, 0) == 0


if __name__ == "__main__":
    sys.exit(main())
