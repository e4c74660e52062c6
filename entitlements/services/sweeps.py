"""The time-based work beat runs: set-based, idempotent sweeps (DESIGN §7).

Each sweep takes a batch of due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (``WHERE due AND state
= …``), changes them and everything that goes with them (access, audit rows, outbox messages) in one
transaction, and moves on: a worker killed mid-sweep loses only its open batch, which rolls back
whole; a second sweep, or two at once, finds nothing left to do.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from directory.actors import Actor
from directory.audit import Change, Target, audit

from ..models import ApprovalStageRecord, Assignment, AssignmentRequest
from . import approvals, expiry_warnings
from .delivery import _require_platform, assignments_revoke, request_deliver

BATCH = 2000
#: The expiry sweep's batch: its statements cost the same per batch whatever its size (set-based).
EXPIRY_BATCH = 10000
#: The warning sweep's batch (set-based too).
WARNING_BATCH = 10000
WARNING_DAYS = (1, 14)  # checked nearest first, so an assignment inside a day gets only the 1-day warning
S = AssignmentRequest.State


def assignments_expire_due(*, actor: Actor, now=None, batch: int = EXPIRY_BATCH) -> int:
    """Expire every delivered assignment past its end and remove the access only it gave."""
    _require_platform(actor)
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(Assignment.objects.select_for_update(skip_locked=True)
                       .filter(state=Assignment.State.DELIVERED, expires_at__lte=now)
                       .order_by().values_list("pk", flat=True)[:batch])
            if not ids:
                return total
            total += assignments_revoke(actor=actor, assignment_ids=ids, ended_by="expired", now=now)


def assignments_warn_expiring(*, actor: Actor, now=None, batch: int = WARNING_BATCH,
                              set_based: bool | None = None) -> int:
    """Mail "Extend access for [package] by [date]" 14 days and 1 day before access ends, where the
    policy lets holders extend (Entra's schedule); each warning once. Set-based: a batch is locked, marked
    and mailed in a fixed number of statements (:mod:`.expiry_warnings`)."""
    _require_platform(actor)
    now = now or timezone.now()
    total = 0
    for days in WARNING_DAYS:
        due = Assignment.objects.filter(state=Assignment.State.DELIVERED, expires_at__gt=now,
                                        expires_at__lte=now + timedelta(days=days),
                                        policy__enable_targets_to_self_update=True).filter(
            Q(warned_days=0) | Q(warned_days__gt=days))
        while True:
            with transaction.atomic():
                marked = expiry_warnings.warn_batch(due, days=days, batch=batch, set_based=set_based)
            if not marked:
                break
            total += marked
    return total


def requests_sweep_approvals(*, actor: Actor, now=None, batch: int = BATCH) -> dict:
    """Deny requests whose stage ran out of time, forward the ones due for escalation, remind approvers."""
    _require_platform(actor)
    now = now or timezone.now()
    done = {"denied": 0, "escalated": 0, "reminded": 0}
    for field, step in (("deny_at", _time_out), ("escalate_at", _escalate), ("remind_at", _remind)):
        while True:
            with transaction.atomic():
                due = list(AssignmentRequest.objects.select_for_update(of=("self",), skip_locked=True)
                           .filter(state=S.PENDING_APPROVAL, **{f"{field}__lte": now})
                           .select_related("tenant", "package", "target", "connected_organization")
                           .order_by(field)[:batch])
                if not due:
                    break
                for request in due:
                    step(request, now)
            done[{"deny_at": "denied", "escalate_at": "escalated", "remind_at": "reminded"}[field]] += len(due)
    return done


def _time_out(request: AssignmentRequest, now) -> None:
    """Nobody decided the stage in time: the request ends (Entra: the user resubmits)."""
    approvers = approvals.current_approvers(request)
    ApprovalStageRecord.objects.filter(request=request, order=request.current_stage).update(
        status=ApprovalStageRecord.Status.TIMED_OUT)
    request.state, request.status, request.completed_at = S.DENIED, "Expired", now
    request.deny_at = request.escalate_at = request.remind_at = None
    request.save(update_fields=["state", "status", "completed_at", "deny_at", "escalate_at", "remind_at"])
    audit(tenant=request.tenant, actor=Actor.system(request.tenant, "Entitlement management"),
          activity="Access package assignment request timed out",
          targets=[Target(request, [Change("state", S.PENDING_APPROVAL, S.DENIED),
                                    Change(f"stage{request.current_stage}", "NotReviewed", "TimedOut")])])
    approvals.mail(request, "request_expired", [request.target or request.target_email])
    approvals.mail(request, "approver_expired", approvers)


def _escalate(request: AssignmentRequest, now) -> None:
    request.escalate_at = None
    request.remind_at = now + (request.deny_at - now) * approvals.REMINDER_FRACTION if request.deny_at else None
    request.save(update_fields=["escalate_at", "remind_at"])
    approvers = approvals.escalate_stage(request)
    audit(tenant=request.tenant, actor=Actor.system(request.tenant, "Entitlement management"),
          activity="Escalate access package assignment request",
          targets=[Target(request, [Change("escalationApprovers", None, sorted(str(u.pk) for u in approvers))])])


def _remind(request: AssignmentRequest, now) -> None:
    request.remind_at = None
    request.save(update_fields=["remind_at"])
    approvals.mail(request, "remind", approvals.current_approvers(request), date=request.escalate_at or request.deny_at)


def requests_deliver_due(*, actor: Actor, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Deliver approved requests whose delivery task was lost (a killed worker, the broker down)."""
    _require_platform(actor)
    cutoff = timezone.now() - older_than
    ids = list(AssignmentRequest.objects.filter(state=S.DELIVERING, created_at__lte=cutoff)
               .order_by("created_at").values_list("pk", flat=True)[:BATCH])
    for pk in ids:
        request_deliver(actor=actor, request_id=pk)
    return len(ids)
