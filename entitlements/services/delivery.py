"""Delivering a request (inviting a new external requestor silently first) and taking access away.

Delivery adds group memberships, ownerships and app assignments through the directory's services as
*managed* access (:class:`directory.models.ManagedAccess`: held for a package, not directly) and records
each one as a :class:`~entitlements.models.Grant`. Taking access away is set-based
(:mod:`.revocation`) and removes only managed access no other active assignment holds: access held
directly, from before delivery or added after it, stays.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor, require_actor
from directory.audit import Change, Target, audit
from directory.models import AppRoleAssignment, AuditEvent, User
from directory.services import (
    app_assignment_create,
    group_member_add,
    group_owner_add,
)
from invitations.services import InvitationDenied, invitation_create

from ..models import (
    ApprovalStageRecord,
    Assignment,
    AssignmentRequest,
    CatalogResource,
    ExternalUserLifecycle,
    Grant,
    ResourceRole,
    ResourceRoleScope,
)
from . import approvals
from .lifecycle import unblock_if_pending
from .revocation import assignments_revoke  # noqa: F401  (re-exported)

S = AssignmentRequest.State
RT = AssignmentRequest.RequestType


def _require_platform(actor: Actor) -> Actor:
    require_actor(actor)
    if not actor.is_platform:
        raise PermissionDenied(_("Only the platform delivers and expires access."))
    return actor


@transaction.atomic
def request_deliver(*, actor: Actor, request_id) -> AssignmentRequest | None:
    """Deliver an approved request, exactly once: invite a person not in the directory yet silently
    (no invitation e-mail; the tenant's allow/deny list applies), create or extend the assignment,
    grant each resource role, mail "You now have access" (not for an administrator's direct
    assignment). A request that is not waiting for delivery is left alone."""
    _require_platform(actor)
    request = (AssignmentRequest.objects.select_for_update(of=("self",))
               .select_related("tenant", "package", "target").filter(pk=request_id).first())
    if request is None or request.state != S.DELIVERING:
        return request
    tenant = request.tenant
    system = Actor.system(tenant, "Entitlement management")
    if request.target is None:
        try:
            with transaction.atomic():
                result = invitation_create(
                    actor=system, tenant=tenant, email=request.target_email, send_message=False,
                    display_name=request.target_display_name if request.target_display_name != request.target_email
                    else "", redirect_url=approvals.panel_url(tenant), sponsors=_sponsors_for(request))
        except (InvitationDenied, ValidationError) as exc:
            reason = getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [str(exc)]))
            return _failed(system, request, str(reason))
        request.target = result.invitation.invited_user
        request.save(update_fields=["target"])
        if result.user_created:  # brought in by entitlement management: its external-user lifecycle applies
            ExternalUserLifecycle.objects.create(user=request.target, tenant=tenant, governed=True)
    now = timezone.now()
    target = request.target
    assignment = request.assignment or Assignment.objects.filter(
        package=request.package, target=target, state__in=Assignment.ACTIVE_STATES).first()
    expires = approvals.expiry_for(request, now)
    if assignment is None:
        assignment = Assignment(tenant=tenant, package=request.package, policy=request.policy, target=target,
                                start_at=request.schedule_start or now, expires_at=expires,
                                state=Assignment.State.DELIVERING, status="Delivering")
        assignment.save(force_insert=True)
        audit(tenant=tenant, actor=system, activity="Create access package assignment", targets=[
            Target(assignment, [Change("state", None, Assignment.State.DELIVERED),
                                Change("expiredDateTime", None, expires)]), Target(target)])
    elif assignment.expires_at != expires and request.request_type in (RT.USER_UPDATE, RT.ADMIN_UPDATE):
        audit(tenant=tenant, actor=system, activity="Update access package assignment", targets=[
            Target(assignment, [Change("expiredDateTime", assignment.expires_at, expires)])])
        assignment.expires_at, assignment.warned_days = expires, 0
    if not target.account_enabled and not target.deleted_at and unblock_if_pending(actor=system, user=target):
        target.account_enabled = True  # blocked by the lifecycle, and access came back before the removal
    if target.deleted_at or not target.account_enabled:
        return _failed(system, request, "The user is blocked or deleted.")
    for scope in ResourceRoleScope.objects.filter(package=request.package).select_related(
            "resource__group", "resource__application"):
        grant(system, assignment, scope.resource, scope.role)
    assignment.state, assignment.status = Assignment.State.DELIVERED, "Delivered"
    assignment.save(update_fields=["state", "status", "expires_at", "warned_days"])
    request.assignment = assignment
    request.state, request.status, request.completed_at = S.DELIVERED, "Delivered", now
    request.save(update_fields=["assignment", "state", "status", "completed_at"])
    audit(tenant=tenant, actor=system, activity="Fulfill access package assignment request",
          targets=[Target(request, [Change("state", S.DELIVERING, S.DELIVERED)]), Target(target)])
    if request.request_type not in (RT.ADMIN_ADD, RT.ADMIN_UPDATE):
        approvals.mail(request, "delivered", [target])
    return request


MAX_SPONSORS = 5  # Entra's limit of sponsors per user (invitations.services.MAX_SPONSORS)


def _sponsors_for(request: AssignmentRequest) -> list[User]:
    """Who sponsors a guest entitlement management invites. Entra makes the inviter the sponsor; here the
    invitation is the platform's, so the people who brought the guest in stand for the inviter: the
    person of this tenant who asked (an administrator's direct assignment, a request on their behalf),
    else whoever approved the request, else the connected organization's internal sponsors."""
    requestor = request.requestor
    if requestor is not None and requestor.tenant_id == request.tenant_id and not requestor.deleted_at:
        return [requestor]
    approvers = list(User.objects.filter(
        pk__in=ApprovalStageRecord.objects.filter(request=request, status=ApprovalStageRecord.Status.APPROVED)
        .values("reviewed_by"), tenant_id=request.tenant_id, deleted_at__isnull=True)[:MAX_SPONSORS])
    if approvers:
        return approvers
    organization = request.connected_organization
    if organization is not None:
        return list(organization.internal_sponsors.filter(tenant_id=request.tenant_id, deleted_at__isnull=True)
                    [:MAX_SPONSORS])
    return []


def _failed(actor: Actor, request: AssignmentRequest, reason: str) -> AssignmentRequest:
    request.state, request.status, request.completed_at = S.DELIVERY_FAILED, "DeliveryFailed", timezone.now()
    request.save(update_fields=["state", "status", "completed_at"])
    audit(tenant=request.tenant, actor=actor, activity="Access package assignment request delivery failed",
          targets=[Target(request, [Change("state", S.DELIVERING, S.DELIVERY_FAILED)])],
          result=AuditEvent.Result.FAILURE, reason=reason)
    return request


def grant(actor: Actor, assignment: Assignment, resource: CatalogResource, role: str) -> Grant:
    """Give the assignment's target ``role`` of ``resource`` through the directory's services, as access
    held for the package unless the person holds it already (directly or through another package)."""
    user = assignment.target
    if role == ResourceRole.MEMBER:
        group_member_add(actor=actor, group=resource.group, user=user, managed=True)
    elif role == ResourceRole.OWNER:
        group_owner_add(actor=actor, group=resource.group, user=user, managed=True)
    elif not AppRoleAssignment.objects.filter(application=resource.application, user=user).exists():
        app_assignment_create(actor=actor, application=resource.application, user=user, managed=True)
    record, _created = Grant.objects.get_or_create(assignment=assignment, resource=resource, role=role,
                                                   defaults={"user": user})
    return record
