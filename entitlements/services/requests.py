"""Requests: asking for a package, extending it, giving it up, cancelling, and approving or denying."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor, require_actor
from directory.audit import Change, Target, audit
from directory.models import User
from directory.queue import publish_on_commit

from .. import evaluators, selectors
from ..models import AccessPackage, ApprovalStageRecord, Assignment, AssignmentPolicy, AssignmentRequest, StageApprover
from . import approvals
from ._common import catalog_capabilities
from .organizations import proposed_organization_for

DELIVER_TASK = "entitlements.deliver_request"
RT = AssignmentRequest.RequestType
S = AssignmentRequest.State


class RequestRefused(PermissionDenied):
    """A request the rules refuse; ``code`` and the message say why (shown to the requestor)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RequestData:
    justification: str = ""
    answers: dict | None = None
    schedule_start: timezone.datetime | None = None
    schedule_end: timezone.datetime | None = None


def _answers_list(policy: AssignmentPolicy, answers: dict) -> list[dict]:
    out = []
    for question in policy.questions.all():
        value = str(answers.get(str(question.pk), "")).strip()
        if value:
            display = value
            if question.kind == question.Kind.MULTIPLE_CHOICE:
                labels = {str(c.get("actualValue")): c.get("text", "") for c in question.choices}
                display = ", ".join(labels.get(v, v) for v in value.split(","))
            out.append({"questionId": str(question.pk), "question": question.text, "value": value,
                        "displayValue": display})
    return out


@transaction.atomic
def request_access(*, actor: Actor, package: AccessPackage, policy: AssignmentPolicy | None = None,
                   data: RequestData = RequestData()) -> AssignmentRequest:
    """A person asks for ``package`` for themselves (Graph ``userAdd``): a user of the tenant, or a
    signed-in person not yet in the directory (an external requestor, identified by their account's
    proven address). The evaluator decides who may, by which policy, with what reason if not; an
    "all external users" policy proposes a connected organization for a new requestor's organization."""
    require_actor(actor)
    tenant = package.tenant
    if actor.tenant is None or actor.tenant.pk != tenant.pk or actor.account is None or (actor.app is not None \
            and not actor.granted_scopes & {"EntitlementManagement.ReadWrite.All"}):
        raise RequestRefused("not_allowed", _("You are not allowed to request this access package."))
    user = actor.user
    email = (user.mail if user else "") or actor.account.email
    who, organization = selectors.requestor_facts(tenant=tenant, user=user, email=email, account=actor.account)
    policies = list(package.policies.all())
    questions = list(policy.questions.all()) if policy else []
    decision = evaluators.evaluate_request(
        package=selectors.package_facts(package), policy=policy, policies=policies, who=who, questions=questions,
        data=evaluators.RequestInput(justification=data.justification, answers=data.answers or {},
                                     schedule_start=data.schedule_start, schedule_end=data.schedule_end))
    if not decision:
        raise RequestRefused(decision.code, decision.reasons[0])
    policy = next(p for p in policies if str(p.pk) == decision.code)
    system = Actor.system(tenant, "Entitlement management")
    if organization is None and who.is_external \
            and policy.allowed_target_scope == AssignmentPolicy.TargetScope.ALL_EXTERNAL_USERS:
        organization = proposed_organization_for(actor=system, tenant=tenant, domain=email.rsplit("@", 1)[-1],
                                                 source_tenant=selectors.home_tenant_of(actor.account))
    request = AssignmentRequest(
        tenant=tenant, package=package, policy=policy, request_type=RT.USER_ADD, target=user,
        target_email="" if user else actor.account.email,
        target_display_name=(user.display_name if user else actor.account.display_name) or email,
        connected_organization=organization, requestor=user, requestor_account=actor.account,
        justification=data.justification.strip(), answers=_answers_list(policy, data.answers or {}),
        schedule_start=data.schedule_start, schedule_end=data.schedule_end,
        policy_snapshot=approvals.snapshot(policy))
    request.save(force_insert=True)
    _submitted(actor=actor.in_tenant(tenant), request=request, approval=policy.is_approval_required_for_add)
    return request


@transaction.atomic
def request_admin_add(*, actor: Actor, package: AccessPackage, policy: AssignmentPolicy, target: User | None = None,
                      email: str = "", justification: str = "", schedule_end=None) -> AssignmentRequest:
    """An administrator or assignment manager assigns directly (Graph ``adminAdd``): no approval, and, as
    in Entra, no e-mail to the person. ``email``: someone not in the directory yet (invited silently)."""
    _require_assignments(actor, package)
    if policy.package_id != package.pk:
        raise ValidationError({"assignmentPolicyId": _("The policy is not one of this access package's.")})
    if target is not None and target.tenant_id != package.tenant_id:
        raise ValidationError({"targetId": _("The user is not in this tenant.")})
    if target is None:
        email = (email or "").strip().lower()
        if "@" not in email:
            raise ValidationError({"target": _("Name the user, or the e-mail address of someone to invite.")})
        target = User.objects.filter(tenant=package.tenant).with_mail(email).first()
    if target is not None and Assignment.objects.filter(package=package, target=target,
                                                        state__in=Assignment.ACTIVE_STATES).exists():
        raise RequestRefused("already_assigned", _("This person has this access package already."))
    if target is not None and target.deleted_at:
        raise ValidationError({"targetId": _("The user is deleted.")})
    request = AssignmentRequest(
        tenant=package.tenant, package=package, policy=policy, request_type=RT.ADMIN_ADD, target=target,
        target_email="" if target else email, target_display_name=target.display_name if target else email,
        requestor=actor.user, requestor_account=actor.account, justification=justification,
        schedule_end=schedule_end, policy_snapshot=approvals.snapshot(policy))
    request.save(force_insert=True)
    _submitted(actor=actor.in_tenant(package.tenant), request=request, approval=False)
    return request


@transaction.atomic
def request_extend(*, actor: Actor, assignment: Assignment, justification: str = "") -> AssignmentRequest:
    """The holder asks to keep access longer (Graph ``userUpdate``); with "require approval to
    extend" it goes through the policy's approval stages again."""
    require_actor(actor)
    if actor.user is None or assignment.target_id != actor.user.pk:
        raise RequestRefused("not_allowed", _("Only the person who holds the access can extend it."))
    if assignment.state not in Assignment.ACTIVE_STATES:
        raise RequestRefused("not_active", _("This access has ended."))
    policy = assignment.policy
    who, organization = selectors.requestor_facts(tenant=assignment.tenant, user=actor.user)
    decision = evaluators.may_extend(policy=policy, who=who, expires_at=assignment.expires_at, now=timezone.now())
    if not decision:
        raise RequestRefused(decision.code, decision.reasons[0])
    if AssignmentRequest.objects.filter(assignment=assignment, state__in=AssignmentRequest.OPEN_STATES).exists():
        raise RequestRefused("request_pending", _("You already asked to extend this access."))
    request = AssignmentRequest(
        tenant=assignment.tenant, package=assignment.package, policy=policy, assignment=assignment,
        request_type=RT.USER_UPDATE, target=actor.user, target_display_name=actor.user.display_name,
        connected_organization=organization, requestor=actor.user, requestor_account=actor.account,
        justification=justification, policy_snapshot=approvals.snapshot(policy))
    request.save(force_insert=True)
    _submitted(actor=actor, request=request, approval=policy.is_approval_required_for_update)
    return request


@transaction.atomic
def request_remove(*, actor: Actor, assignment: Assignment, justification: str = "") -> AssignmentRequest:
    """Give access up (the holder, Graph ``userRemove``, where the policy lets them) or take it away (an
    administrator or assignment manager, ``adminRemove``). Access the person holds directly or
    through another assignment stays."""
    from .delivery import assignments_revoke

    require_actor(actor)
    own = actor.user is not None and assignment.target_id == actor.user.pk
    if own and not catalog_capabilities(actor, assignment.package.catalog) & {"assignments"}:
        if assignment.policy is not None and not assignment.policy.enable_targets_to_self_remove:
            raise RequestRefused("remove_not_allowed", _("This access cannot be given up here; ask an administrator."))
        request_type = RT.USER_REMOVE
    else:
        _require_assignments(actor, assignment.package)
        request_type = RT.ADMIN_REMOVE
    now = timezone.now()
    request = AssignmentRequest(
        tenant=assignment.tenant, package=assignment.package, policy=assignment.policy, assignment=assignment,
        request_type=request_type, target=assignment.target, target_display_name=assignment.target.display_name,
        requestor=actor.user, requestor_account=actor.account, justification=justification,
        state=S.DELIVERED, status="Delivered", completed_at=now)
    request.save(force_insert=True)
    actor = actor.in_tenant(assignment.tenant)
    audit(tenant=assignment.tenant, actor=actor, activity="Create access package assignment request",
          targets=[Target(request, [Change("requestType", None, request_type)]), Target(assignment.target)])
    assignments_revoke(actor=actor, assignment_ids=[assignment.pk], ended_by="removed", now=now)
    return request


def _require_assignments(actor: Actor, package: AccessPackage) -> None:
    if "assignments" not in catalog_capabilities(actor, package.catalog):
        raise PermissionDenied(_("You do not have permission to assign this access package."))


def _submitted(*, actor: Actor, request: AssignmentRequest, approval: bool) -> None:
    audit(tenant=request.tenant, actor=actor, activity="Create access package assignment request", targets=[
        Target(request, [Change("requestType", None, request.request_type),
                         Change("justification", None, request.justification or None)]),
        Target(request.package)], details={"targetEmail": request.target_email or request.target_label})
    if approval and request.policy_snapshot.get("stages"):
        _move(request, S.PENDING_APPROVAL, "PendingApproval")
        if not approvals.start_stage(request, 1, timezone.now()):
            _no_approvers(actor, request)
        return
    _approved(request)


def _move(request: AssignmentRequest, state: str, status: str, **fields) -> None:
    request.state, request.status = state, status
    for name, value in fields.items():
        setattr(request, name, value)
    request.save(update_fields=["state", "status", *fields])


def _approved(request: AssignmentRequest) -> None:
    """No (more) approval needed: deliver after commit (and the delivery sweep finds it if that task
    is lost)."""
    _move(request, S.DELIVERING, "Delivering", deny_at=None, escalate_at=None, remind_at=None)
    publish_on_commit(DELIVER_TASK, str(request.pk))


def _no_approvers(actor: Actor, request: AssignmentRequest) -> None:
    _move(request, S.DENIED, "NoApprovers", completed_at=timezone.now(), deny_at=None, escalate_at=None,
          remind_at=None)
    audit(tenant=request.tenant, actor=actor, activity="Deny access package assignment request",
          targets=[Target(request, [Change("state", S.PENDING_APPROVAL, S.DENIED)])],
          reason="No approver could be found for the request.")


@transaction.atomic
def request_cancel(*, actor: Actor, request: AssignmentRequest) -> AssignmentRequest:
    """Cancel a request not delivered yet (its requestor or target, or an assignment manager)."""
    require_actor(actor)
    request = AssignmentRequest.objects.select_for_update().get(pk=request.pk)
    own = (actor.user is not None and actor.user.pk in (request.target_id, request.requestor_id)) or (
        actor.account is not None and request.requestor_account_id == actor.account.pk and request.target_id is None)
    if not own:
        _require_assignments(actor, request.package)
    if request.state not in AssignmentRequest.CANCELABLE_STATES:
        raise RequestRefused("not_cancelable", _("Only requests that are not delivered yet can be cancelled."))
    old = request.state
    _move(request, S.CANCELED, "Canceled", completed_at=timezone.now(), deny_at=None, escalate_at=None,
          remind_at=None)
    ApprovalStageRecord.objects.filter(request=request, status=ApprovalStageRecord.Status.IN_PROGRESS).update(
        status=ApprovalStageRecord.Status.CANCELED)
    audit(tenant=request.tenant, actor=actor.in_tenant(request.tenant),
          activity="Cancel access package assignment request",
          targets=[Target(request, [Change("state", old, S.CANCELED)])])
    return request


@transaction.atomic
def approval_decide(*, actor: Actor, request: AssignmentRequest, approve: bool, justification: str = "",
                    stage: ApprovalStageRecord | None = None) -> AssignmentRequest:
    """An approver of the current stage approves or denies (Graph: PATCH the approval stage with
    ``reviewResult``). One approver decides a stage; a deny ends the request; the last approval
    sends it to delivery. The approver's justification is shown to the requestor and approvers."""
    require_actor(actor)
    request = AssignmentRequest.objects.select_for_update().select_related("package", "tenant").get(pk=request.pk)
    if request.state != S.PENDING_APPROVAL:
        raise RequestRefused("not_pending", _("This request is not waiting for a decision any more."))
    record = request.stages.get(order=request.current_stage)
    if stage is not None and stage.pk != record.pk:
        raise RequestRefused("not_current_stage", _("This stage is not the one waiting for a decision."))
    user = actor.user
    allowed = user is not None and user.pk not in (request.target_id, request.requestor_id) and (
        StageApprover.objects.filter(stage=record, user=user, is_escalation=False).exists()
        or (record.escalated and StageApprover.objects.filter(stage=record, user=user, is_escalation=True).exists()))
    if not allowed or (actor.app is not None and not actor.granted_scopes & {"EntitlementManagement.ReadWrite.All"}):
        raise PermissionDenied(_("You are not an approver of this request."))
    if record.is_approver_justification_required and not justification.strip():
        raise ValidationError({"justification": _("Give a justification for your decision.")})
    now = timezone.now()
    record.status = ApprovalStageRecord.Status.APPROVED if approve else ApprovalStageRecord.Status.DENIED
    record.reviewed_by, record.reviewed_at, record.justification = user, now, justification.strip()
    record.save(update_fields=["status", "reviewed_by", "reviewed_at", "justification"])
    actor = actor.in_tenant(request.tenant)
    audit(tenant=request.tenant, actor=actor, activity="Approve access package assignment request" if approve
          else "Deny access package assignment request",
          targets=[Target(request, [Change(f"stage{record.order}", "NotReviewed", record.status),
                                    Change("justification", None, record.justification or None)])])
    if not approve:
        _move(request, S.DENIED, "Denied", completed_at=now, deny_at=None, escalate_at=None, remind_at=None)
        approvals.mail(request, "denied", [request.target or request.target_email], justification=justification)
        return request
    approvals.mail(request, "approved", approvals.current_approvers(request), justification=justification)
    next_order = record.order + 1
    if approvals.stage_config(request, next_order) is not None:
        if not approvals.start_stage(request, next_order, now):
            _no_approvers(actor, request)
        return request
    _approved(request)
    return request


@transaction.atomic
def request_reprocess(*, actor: Actor, request: AssignmentRequest) -> AssignmentRequest:
    """Try a failed or partial delivery again (Graph ``reprocess``)."""
    _require_assignments(actor, request.package)
    request = AssignmentRequest.objects.select_for_update().get(pk=request.pk)
    if request.state not in (S.DELIVERY_FAILED, S.PARTIALLY_DELIVERED):
        raise RequestRefused("not_reprocessable", _("Only failed or partially delivered requests are reprocessed."))
    old = request.state
    _approved(request)
    audit(tenant=request.tenant, actor=actor.in_tenant(request.tenant),
          activity="Reprocess access package assignment request",
          targets=[Target(request, [Change("state", old, S.DELIVERING)])])
    return request
