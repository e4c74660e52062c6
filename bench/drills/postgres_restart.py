"""Drill 3: PostgreSQL restarted under load (invitations, redemptions and a bulk job running).

    .venv/bin/python bench/drills/postgres_restart.py [--restarts 2] [--mode fast] [--bulk-rows 3000]

Runs the project under gunicorn with a worker and beat on a private PostgreSQL cluster, then, while
``POST /v1.0/invitations`` requests, redemptions (``invitation_redeem`` with group grants, in this
process) and a bulk job run, restarts the cluster (``pg_ctl restart -m fast``: every session ended,
open transactions rolled back; ``--mode immediate``: a crash and recovery). Passes when no request got
a 500 (a 503 is a clean failure), nothing is half-applied (a guest without its invitation, an
invitation without its audit row or e-mail, a redeemed invitation whose guest is not accepted, a group
membership or redemption without its audit row), the bulk job finished with one result per row, and
every e-mail reached the sink exactly once.
"""

import collections
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Drill, log, wait_until


def main() -> int:
    parser = harness.arguments(__doc__.split("\n\n")[0], limit=300)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--mode", choices=("fast", "immediate"), default="fast")
    parser.add_argument("--bulk-rows", type=int, default=3000)
    parser.add_argument("--redeemable", type=int, default=150, help="invitations prepared for redemption")
    parser.add_argument("--sweep-seconds", type=int, default=5)
    args = parser.parse_args()

    with Drill("postgres-restart", limit=args.limit, keep=args.keep) as drill:
        drill.start_services()
        drill.extra_env.update({"OUTBOX_SWEEP_SECONDS": str(args.sweep_seconds),
                                "BULK_SWEEP_SECONDS": str(args.sweep_seconds)})
        harness.setup_django(drill)
        ok = run(drill, args)
    harness.print_figures(drill, as_json=args.json, ok=ok)
    return 0 if ok else 1


def half_applied(tenant, group) -> dict[str, int]:
    """Counts of states no single transaction may leave behind."""
    from django.db.models import Q

    from directory.models import AuditEvent, OutboxMessage, User
    from invitations.models import Invitation

    invitations = Invitation.objects.filter(tenant=tenant)
    guests = User.objects.filter(tenant=tenant, creation_type=User.CreationType.INVITATION)
    invite_events = {str(d.get("value")) for details in AuditEvent.objects.filter(
        activity_display_name="Invite external user").values_list("additional_details", flat=True)
        for d in details if d.get("key") == "invitationId"}
    redeem_events = {str(d.get("value")) for details in AuditEvent.objects.filter(
        activity_display_name="Redeem external user invite").values_list("additional_details", flat=True)
        for d in details if d.get("key") == "invitationId"}
    member_events = collections.Counter(
        next((t["id"] for t in targets if t.get("type") == "User"), None)
        for targets in AuditEvent.objects.filter(activity_display_name="Add member to group")
        .values_list("target_resources", flat=True))
    queued = {key.split(":")[1] for key in OutboxMessage.objects.filter(dedupe_key__startswith="invitation:")
              .values_list("dedupe_key", flat=True)}
    ids = {str(pk) for pk in invitations.values_list("pk", flat=True)}
    with_mail = {str(pk) for pk in invitations.filter(send_message=True).values_list("pk", flat=True)}
    redeemed = {str(pk) for pk in invitations.filter(status=Invitation.Status.COMPLETED).values_list("pk", flat=True)}
    members = {str(pk) for pk in group.members.values_list("pk", flat=True)}
    return {
        "guests_without_invitation": guests.exclude(Q(invitations__isnull=False)).count(),
        "invitations_without_audit": len(ids - invite_events),
        "invitations_without_their_email": len(with_mail - queued),
        "redeemed_but_guest_not_accepted": invitations.filter(status=Invitation.Status.COMPLETED).exclude(
            invited_user__external_user_state=User.ExternalUserState.ACCEPTED).count(),
        "redeemed_without_audit": len(redeemed - redeem_events),
        "memberships_without_audit": len(members - set(member_events)),
        "audit_without_membership": len(set(member_events) - members - {None}),
    }


def run(drill: Drill, args) -> bool:
    import httpx
    from django.db import close_old_connections

    from directory import services
    from directory.actors import Actor
    from directory.models import OutboxMessage
    from invitations import bulk
    from invitations.models import BulkInvitationJob, Invitation
    from invitations.services import guest_account_for, invitation_create, invitation_redeem

    tenant, _account, actor = harness.tenant_with_admin()
    group = services.group_create(actor=actor, tenant=tenant, display_name="Partners")
    redeemable = [invitation_create(actor=actor, tenant=tenant, email=f"redeem{i}@partner.example",
                                    redirect_url="https://apps.partner.example/", groups=[group]).invitation
                  for i in range(args.redeemable)]
    accounts = {inv.pk: guest_account_for(email=inv.invited_email) for inv in redeemable}
    _registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="Drill app", application_permissions=["User.Invite.All"])
    drill.worker("worker")
    drill.beat()
    _web, base = drill.web()
    token = httpx.post(f"{base}/identity/o/api/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": ".default"},
        timeout=30).json()["access_token"]
    job = bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name="drill.csv",
                                          source=harness.bulk_csv(args.bulk_rows, prefix="bulk", mail_every=10))
    log(f"prepared {args.redeemable} invitations to redeem (each adds the guest to a group); bulk job of "
        f"{args.bulk_rows} rows queued")

    answers: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(1_000_000))

    def note(kind: str, outcome) -> None:
        with lock:
            answers[kind][outcome] += 1

    def api_invite() -> None:
        n = next(counter)
        try:
            code = httpx.post(f"{base}/v1.0/invitations", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                              json={"invitedUserEmailAddress": f"api{n}@partner.example",
                                    "inviteRedirectUrl": "https://apps.partner.example/",
                                    "sendInvitationMessage": True}).status_code
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        note("api invite", code)

    pending = list(redeemable)

    def redeem() -> None:
        if not pending:
            return
        with lock:
            invitation = pending.pop()
        close_old_connections()
        account = accounts[invitation.pk]
        try:
            invitation_redeem(actor=Actor.for_account(account, tenant), invitation=invitation, method="code")
            note("redemption", "done")
        except Exception as exc:  # the database went away mid-transaction: it must have rolled back
            note("redemption", type(exc).__name__)
            from django.db import connection

            connection.close()

    def load(action, pause: float) -> None:
        while not stop.is_set():
            action()
            time.sleep(pause)

    threads = [threading.Thread(target=load, args=(action, pause), daemon=True)
               for action, pause in ((api_invite, 0.1), (api_invite, 0.15), (redeem, 0.1))]
    for thread in threads:
        thread.start()
    restarts = []
    for _ in range(args.restarts):
        time.sleep(8)
        processed = BulkInvitationJob.objects.values_list("processed_rows", flat=True).get(pk=job.pk)
        started = time.monotonic()
        drill.postgres.restart(args.mode)
        close_old_connections()
        restarts.append(f"{time.monotonic() - started:.1f} s at bulk row {processed}")
        log(f"PROVOKED: PostgreSQL restarted ({args.mode}) under load, {restarts[-1]}")
    time.sleep(8)
    stop.set()
    for thread in threads:
        thread.join(timeout=40)
    close_old_connections()

    finished = wait_until(lambda: BulkInvitationJob.objects.get(pk=job.pk).state in ("finished", "failed"),
                          timeout=drill.remaining(70), interval=0.5, what="the bulk job")
    expected = {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}
    wait_until(lambda: len(harness.copies_by_outbox_id(drill.sink).keys() & expected) >= len(expected),
               timeout=drill.remaining(30), interval=0.5, what="every e-mail")
    time.sleep(min(3.0, drill.remaining(10)))
    job.refresh_from_db()
    rows = bulk.results_rows(job.pk)
    row_numbers = collections.Counter(row["row"] for row in rows)
    broken = half_applied(tenant, group)
    mail = harness.mail_figures(drill.sink, expected)
    server_errors = sum(counter[500] for counter in answers.values())
    drill.report(
        provoked=f"{len(restarts)} × pg_ctl restart -m {args.mode} under load ({'; '.join(restarts)})",
        answers={kind: dict(counter) for kind, counter in answers.items()}, server_errors_500=server_errors,
        **broken, invitations=Invitation.objects.filter(tenant=tenant).count(),
        bulk_job=job.state if finished else f"{job.state} (not finished)", bulk_result_rows=len(rows),
        bulk_rows_twice=sum(1 for n in row_numbers.values() if n > 1), bulk_created=job.created_count, **mail,
    )
    return (server_errors == 0 and not any(broken.values()) and job.state == "finished"
            and len(rows) == args.bulk_rows and len(row_numbers) == args.bulk_rows
            and mail["duplicated"] == 0 and mail["lost"] == 0)


if __name__ == "__main__":
    sys.exit(main())
