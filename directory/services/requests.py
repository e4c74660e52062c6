"""Self-service: joining and leaving groups, and requests for a group or an application that people decide.

One request model (:class:`~directory.models.SelfServiceRequest`) and one family of services for a group
join request and for an application's self-service access (Entra's "self-service" tab): the request is
made, the approvers (:meth:`Actor.may_decide`) hear of it by e-mail, one of them decides, the requester
hears the decision; an approved request adds the requester to the group (an app request: to the app's
group, or assigns the app). Where no approval is needed, access is granted at once.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import emails
from ..actors import Actor, require_actor
from ..audit import Change, Target, audit, register_activities, register_target_type
from ..models import Application, AppRoleAssignment, Group, ManagedAccess, SelfServiceRequest, User
from ..selectors import groups_visible_to
from .applications import app_assignment_create
from .groups import _locked
from .outbox import outbox_enqueue

register_activities("GroupManagement", {
    "Request to join group": "Add", "Approve group join request": "Update", "Deny group join request": "Update",
    "Withdraw group join request": "Update",
})
register_activities("ApplicationManagement", {
    "Request access to application": "Add", "Approve application access request": "Update",
    "Deny application access request": "Update", "Withdraw application access request": "Update",
})
register_target_type(SelfServiceRequest, "Request")

Status = SelfServiceRequest.Status


def _person(actor: Actor) -> User:
    """The actor's user object, which must be able to act (self-service is for people, not apps)."""
    require_actor(actor)
    if actor.user is None or actor.app is not None or not actor.capabilities:
        raise PermissionDenied(_("Only a person signed in to this organization can do this."))
    return actor.user


def group_self_service_refusal(*, actor: Actor, group: Group) -> str | None:
    """Why ``actor`` may not join (or ask to join) ``group`` from the access panel, or None. Joining needs
    the tenant's self-service group management, a group that lets people join, and a group the actor
    may see (guests see only what their access level shows)."""
    tenant = group.tenant
    if not tenant.groups_self_service_enabled:
        return _("Self-service group management is turned off in this organization.")
    if not group.members_can_join:
        return _("Only the owners of this group add members.")
    if group.join_requires_approval and not tenant.owners_manage_join_requests:
        return _("Ask an owner of this group to add you.")
    if not groups_visible_to(actor).filter(pk=group.pk).exists():
        return _("No such group.")
    return None


@transaction.atomic
def group_join(*, actor: Actor, group: Group, justification: str = "") -> SelfServiceRequest | None:
    """Join an open group at once (None), or ask to join one that needs an owner's approval (the request)."""
    user = _person(actor)
    refusal = group_self_service_refusal(actor=actor, group=group)
    if refusal:
        raise PermissionDenied(refusal)
    if group.join_requires_approval:
        return _request(actor=actor, user=user, group=group, application=None, justification=justification)
    _add_member(actor=actor, group=group, user=user)
    return None


@transaction.atomic
def group_leave(*, actor: Actor, group: Group) -> bool:
    """Leave a group, where the group lets people join themselves (a group its owners manage is left by
    asking them). True when the actor was a member."""
    user = _person(actor)
    if not group.tenant.groups_self_service_enabled or not group.members_can_join:
        raise PermissionDenied(_("Ask an owner of this group to remove you."))
    group = _locked(group)
    if not group.members.filter(pk=user.pk).exists():
        return False
    group.members.remove(user)
    audit(tenant=group.tenant, actor=actor, activity="Remove member from group", targets=[Target(group), Target(user)])
    return True


def application_self_service_refusal(*, actor: Actor, application: Application) -> str | None:
    if not application.self_service_enabled:
        return _("This application does not take access requests.")
    if actor.is_guest:
        return _("Guests cannot request access to applications here; ask the person who invited you.")
    return None


@transaction.atomic
def application_access_request(*, actor: Actor, application: Application,
                               justification: str = "") -> SelfServiceRequest | None:
    """Ask for an application that allows self-service access: granted at once where no approval is
    needed (None), else a request its approvers decide."""
    user = _person(actor)
    refusal = application_self_service_refusal(actor=actor, application=application)
    if refusal:
        raise PermissionDenied(refusal)
    if application.self_service_requires_approval:
        return _request(actor=actor, user=user, group=application.self_service_group, application=application,
                        justification=justification)
    _grant_application(actor=actor, application=application, group=application.self_service_group, user=user)
    return None


def _request(*, actor, user, group, application, justification) -> SelfServiceRequest:
    if len(justification) > 1024:
        raise ValidationError({"justification": _("Keep the justification under 1,024 characters.")})
    pending = SelfServiceRequest.objects.filter(requester=user, status=Status.PENDING)
    pending = pending.filter(application=application) if application else pending.filter(group=group,
                                                                                           application=None)
    existing = pending.first()
    if existing is not None:
        return existing
    request = SelfServiceRequest(tenant=user.tenant, requester=user, group=group, application=application,
                                 justification=justification.strip())
    try:
        with transaction.atomic():
            request.save(force_insert=True)
    except IntegrityError:  # the same request, made a moment ago by another click
        return pending.get()
    activity = "Request access to application" if application else "Request to join group"
    audit(tenant=user.tenant, actor=actor, activity=activity, targets=[Target(request.target), Target(user)],
          details={"requestId": request.pk, "justification": request.justification})
    for approver in approvers_of(request):
        outbox_enqueue(tenant=user.tenant, to=[approver.mail or approver.user_principal_name],
                       dedupe_key=f"self-service:{request.pk}:ask:{approver.pk}",
                       **emails.request_message(request=request, recipient=approver))
    return request


def approvers_of(request: SelfServiceRequest) -> list[User]:
    """Who hears of a request: the group's owners, or the application's approvers (else its owners)."""
    if request.application_id is not None:
        app = request.application
        people = list(app.self_service_approvers.filter(deleted_at__isnull=True, account_enabled=True))
        if not people:
            people = list(app.owners.filter(deleted_at__isnull=True, account_enabled=True))
        return people
    return list(request.group.owners.filter(deleted_at__isnull=True, account_enabled=True))


@transaction.atomic
def self_service_request_decide(*, actor: Actor, request: SelfServiceRequest, approve: bool,
                                note: str = "") -> SelfServiceRequest:
    """Approve or deny a pending request (any one approver decides; the second finds it decided). Approving
    grants the access; the requester gets an e-mail either way."""
    require_actor(actor)
    request = SelfServiceRequest.objects.select_for_update(of=("self",)).select_related(
        "tenant", "requester", "group", "application").get(pk=request.pk)
    if not actor.may_decide(request):
        raise PermissionDenied(_("You do not decide this request."))
    if request.status != Status.PENDING:
        raise ValidationError(_("This request was decided already."), code="decided")
    old = request.status
    request.status = Status.APPROVED if approve else Status.DENIED
    request.decided_by = actor.user
    request.decided_at = timezone.now()
    request.decision_note = note.strip()[:1024]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    kind = "application access request" if request.application_id else "group join request"
    audit(tenant=request.tenant, actor=actor, activity=f"{'Approve' if approve else 'Deny'} {kind}",
          targets=[Target(request.target, [Change("status", old, request.status)]), Target(request.requester)],
          details={"requestId": request.pk})
    if approve:
        # The approver's right to decide was checked above; the platform applies the grant for the tenant.
        system = Actor.system(request.tenant, "Apply an approved self-service request")
        if request.application_id:
            _grant_application(actor=system, application=request.application, group=request.group,
                               user=request.requester)
        else:
            _add_member(actor=system, group=request.group, user=request.requester)
    requester = request.requester
    if requester.mail or requester.user_principal_name:
        outbox_enqueue(tenant=request.tenant, to=[requester.mail or requester.user_principal_name],
                       dedupe_key=f"self-service:{request.pk}:decided",
                       **emails.decision_message(request=request, recipient=requester))
    return request


@transaction.atomic
def self_service_request_cancel(*, actor: Actor, request: SelfServiceRequest) -> SelfServiceRequest:
    """The requester withdraws a pending request."""
    user = _person(actor)
    request = SelfServiceRequest.objects.select_for_update().get(pk=request.pk)
    if request.requester_id != user.pk:
        raise PermissionDenied(_("Only the person who asked can withdraw a request."))
    if request.status != Status.PENDING:
        return request
    request.status = Status.CANCELED
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    activity = "Withdraw application access request" if request.application_id else "Withdraw group join request"
    audit(tenant=request.tenant, actor=actor, activity=activity,
          targets=[Target(request.target, [Change("status", Status.PENDING, Status.CANCELED)])],
          details={"requestId": request.pk})
    return request


def _add_member(*, actor: Actor, group: Group, user: User) -> bool:
    """Add ``user`` to ``group`` once the rules above allowed it (audited as the actor who joined or
    the platform applying a decision)."""
    group = _locked(group)
    if group.members.filter(pk=user.pk).exists():
        # Held only for an access package until now: joining makes it the person's own (it outlives the package).
        if not ManagedAccess.of(ManagedAccess.Kind.MEMBER, group, user).delete()[0]:
            return False
    else:
        group.members.add(user)
    audit(tenant=group.tenant, actor=actor, activity="Add member to group", targets=[Target(group), Target(user)])
    return True


def _grant_application(*, actor: Actor, application: Application, group: Group | None, user: User) -> None:
    system = actor if actor.is_platform else Actor.system(application.tenant, "Grant self-service access")
    if group is not None:
        _add_member(actor=actor, group=group, user=user)
    elif not AppRoleAssignment.objects.filter(application=application, user=user).exists():
        app_assignment_create(actor=system, application=application, user=user)
