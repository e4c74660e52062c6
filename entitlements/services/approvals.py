"""Who approves a stage, and the messages that go with each step of a request."""

from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from directory.models import Group, User
from directory.services import outbox_message, outbox_publish

from .. import emails
from ..models import ApprovalStageRecord, AssignmentRequest, ConnectedOrganization, StageApprover
from .packages import subject_kind

#: When approvers are reminded: halfway to the stage's first deadline (Entra does not document it; ours).
REMINDER_FRACTION = 0.5


def resolve_approvers(subjects: list[dict], request: AssignmentRequest) -> list[User]:
    """The enabled users of the request's tenant that ``subjects`` (Graph subject sets) name, without
    the request's target and requestor (nobody approves their own request)."""
    ids: set = set()
    target = request.target
    organization: ConnectedOrganization | None = request.connected_organization
    for subject in subjects:
        kind = subject_kind(subject)
        if kind == "singleUser":
            ids.add(str(subject.get("userId")))
        elif kind == "groupMembers":
            ids |= {str(pk) for pk in Group.members.through.objects.filter(
                group_id=subject.get("groupId"), group__tenant_id=request.tenant_id).values_list("user_id", flat=True)}
        elif kind == "requestorManager" and target is not None:
            manager = target.manager
            if manager is not None and int(subject.get("managerLevel") or 1) >= 2:
                manager = manager.manager
            if manager is not None:
                ids.add(str(manager.pk))
        elif kind == "internalSponsors" and organization is not None:
            ids |= {str(pk) for pk in organization.internal_sponsors.values_list("pk", flat=True)}
        elif kind == "externalSponsors" and organization is not None:
            ids |= {str(pk) for pk in organization.external_sponsors.values_list("pk", flat=True)}
        elif kind == "targetUserSponsors" and target is not None:
            ids |= {str(pk) for pk in target.sponsors.values_list("pk", flat=True)}
    excluded = {str(request.target_id), str(request.requestor_id)}
    return list(User.objects.filter(pk__in=ids - excluded, tenant_id=request.tenant_id, account_enabled=True,
                                    deleted_at__isnull=True).order_by("pk"))


def stage_config(request: AssignmentRequest, order: int) -> dict | None:
    for stage in request.policy_snapshot.get("stages", []):
        if stage["order"] == order:
            return stage
    return None


def start_stage(request: AssignmentRequest, order: int, now) -> bool:
    """Open stage ``order``: resolve its approvers (the fallback ones when none is found), set its
    clocks and mail them. False when nobody can approve it."""
    config = stage_config(request, order)
    record = ApprovalStageRecord.objects.create(
        request=request, order=order, status=ApprovalStageRecord.Status.IN_PROGRESS,
        is_approver_justification_required=config["is_approver_justification_required"])
    approvers = resolve_approvers(config["primary_approvers"], request) or \
        resolve_approvers(config["fallback_primary_approvers"], request)
    if not approvers:
        return False
    StageApprover.objects.bulk_create(StageApprover(stage=record, user=u) for u in approvers)
    deny_after = timedelta(seconds=config["duration_before_automatic_denial"])
    escalate_after = (timedelta(seconds=config["duration_before_escalation"])
                      if config["is_escalation_enabled"] and config["duration_before_escalation"] else None)
    request.current_stage = order
    request.deny_at = now + deny_after
    request.escalate_at = now + escalate_after if escalate_after else None
    request.remind_at = now + (escalate_after or deny_after) * REMINDER_FRACTION
    request.save(update_fields=["current_stage", "deny_at", "escalate_at", "remind_at"])
    mail(request, "approve", approvers, date=request.escalate_at or request.deny_at)
    return True


def escalate_stage(request: AssignmentRequest) -> list[User]:
    """Forward the current stage to its alternate approvers (the primaries may still decide)."""
    config = stage_config(request, request.current_stage)
    record = request.stages.get(order=request.current_stage)
    record.escalated = True
    record.save(update_fields=["escalated"])
    approvers = resolve_approvers(config["escalation_approvers"], request) or \
        resolve_approvers(config["fallback_escalation_approvers"], request)
    StageApprover.objects.bulk_create([StageApprover(stage=record, user=u, is_escalation=True) for u in approvers],
                                      ignore_conflicts=True)
    mail(request, "forwarded", approvers, date=request.deny_at)
    return approvers


def current_approvers(request: AssignmentRequest) -> list[User]:
    record = request.stages.filter(order=request.current_stage).first()
    if record is None:
        return []
    qs = StageApprover.objects.filter(stage=record)
    if not record.escalated:
        qs = qs.filter(is_escalation=False)
    return list(User.objects.filter(pk__in=qs.values("user_id")))


def panel_url(tenant, name: str = "entitlements:my_access", **kwargs) -> str:
    return settings.SITE_URL + reverse(name, kwargs={"slug": tenant.slug, **kwargs})


def mail(request: AssignmentRequest, kind: str, recipients: list, *, date=None, justification: str = "",
         dedupe: str | None = None) -> list:
    """Queue ``kind`` to ``recipients`` (users, or e-mail addresses of people not in the directory yet),
    each in their language, in the caller's transaction."""
    tenant = request.tenant
    approver_kind = kind in ("approve", "remind", "forwarded", "approver_expired", "approved")
    url = panel_url(tenant, "entitlements:approvals" if approver_kind else "entitlements:my_access")
    if kind == "request_expired":
        url = panel_url(tenant, "entitlements:package", package_id=request.package_id)
    details = []
    if approver_kind:
        organization = request.connected_organization.display_name if request.connected_organization_id else tenant.name
        details = [("Requestor", request.target_label), ("Organization", organization)]
        justification = justification or request.justification
    messages = []
    key = dedupe or f"em:{request.pk}:{kind}:{request.current_stage}"
    for recipient in recipients:
        if isinstance(recipient, User):
            address, language = recipient.mail or recipient.user_principal_name, emails.language_of(recipient)
        else:
            address, language = recipient, "en"
        if not address or "#EXT#" in address:
            continue
        subject, text, html = emails.notice(kind=kind, language=language, tenant=tenant,
                                            package=request.package.display_name, url=url,
                                            requestor=request.target_label, date=date, justification=justification,
                                            details=details)
        message = outbox_message(tenant=tenant, to=[address], subject=subject, body_text=text, body_html=html,
                                 dedupe_key=f"{key}:{address}"[:200])
        messages.append(message)
    if messages:
        from directory.models import OutboxMessage

        keys = [m.dedupe_key for m in messages]
        sent = set(OutboxMessage.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
        fresh = [m for m in messages if m.dedupe_key not in sent]
        OutboxMessage.objects.bulk_create(fresh)
        outbox_publish([m.pk for m in fresh])
    return messages


def snapshot(policy) -> dict:
    """What a request keeps of its policy (approval stages and expiration), durations in seconds."""
    def seconds(value):
        return int(value.total_seconds()) if value else None

    return {
        "is_approval_required_for_add": policy.is_approval_required_for_add,
        "is_approval_required_for_update": policy.is_approval_required_for_update,
        "expiration_type": policy.expiration_type,
        "expiration_end": policy.expiration_end.isoformat() if policy.expiration_end else None,
        "expiration_duration": seconds(policy.expiration_duration),
        "stages": [{
            "order": s.order, "duration_before_automatic_denial": seconds(s.duration_before_automatic_denial),
            "is_approver_justification_required": s.is_approver_justification_required,
            "is_escalation_enabled": s.is_escalation_enabled,
            "duration_before_escalation": seconds(s.duration_before_escalation),
            "primary_approvers": s.primary_approvers, "fallback_primary_approvers": s.fallback_primary_approvers,
            "escalation_approvers": s.escalation_approvers,
            "fallback_escalation_approvers": s.fallback_escalation_approvers,
        } for s in policy.stages.all()],
    }


def expiry_for(request: AssignmentRequest, start) -> timezone.datetime | None:
    """When access given by ``request`` ends: its requested end (where the policy allows one), else
    the policy's expiration."""
    data = request.policy_snapshot
    if request.schedule_end:
        return request.schedule_end
    kind = data.get("expiration_type")
    if kind == "afterDateTime" and data.get("expiration_end"):
        return timezone.datetime.fromisoformat(data["expiration_end"])
    if kind == "afterDuration" and data.get("expiration_duration"):
        return start + timedelta(seconds=data["expiration_duration"])
    return None
