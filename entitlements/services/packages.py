"""Access packages, the resource roles they grant, and their assignment policies."""

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from directory.actors import Actor
from directory.audit import Change, Target, audit
from directory.models import Group

from ..models import (
    AccessPackage,
    ApprovalStage,
    AssignmentPolicy,
    Catalog,
    CatalogResource,
    Question,
    ResourceRole,
    ResourceRoleScope,
)
from ._common import apply_changes, authorize_catalog, validate_and_save

PACKAGE_FIELDS = {"display_name", "description", "is_hidden"}


@transaction.atomic
def package_create(*, actor: Actor, catalog: Catalog, display_name: str, **fields: Any) -> AccessPackage:
    actor = authorize_catalog(actor, catalog, "packages")
    _known(fields, PACKAGE_FIELDS)
    package = AccessPackage(tenant=catalog.tenant, catalog=catalog, display_name=display_name, **fields)
    validate_and_save(package)
    audit(tenant=catalog.tenant, actor=actor, activity="Create access package", targets=[Target(package, [
        Change("display_name", None, display_name), Change("catalog", None, catalog.display_name),
        Change("is_hidden", None, package.is_hidden)])])
    return package


@transaction.atomic
def package_update(*, actor: Actor, package: AccessPackage, changes: dict[str, Any]) -> AccessPackage:
    """Change a package; ``incompatible_packages`` / ``incompatible_groups`` replace those lists."""
    actor = authorize_catalog(actor, package.catalog, "packages")
    changes = dict(changes)
    relations = {name: list(changes.pop(name)) for name in ("incompatible_packages", "incompatible_groups")
                 if name in changes}
    _known(changes, PACKAGE_FIELDS)
    package = AccessPackage.objects.select_for_update().get(pk=package.pk)
    applied = apply_changes(package, changes)
    if applied:
        validate_and_save(package)
    for name, new in relations.items():
        if any(o.tenant_id != package.tenant_id for o in new):
            raise ValidationError({name: _("Only objects of this tenant can be incompatible.")})
        if name == "incompatible_packages" and any(o.pk == package.pk for o in new):
            raise ValidationError({name: _("A package cannot be incompatible with itself.")})
        manager = getattr(package, name)
        old = {str(pk) for pk in manager.values_list("pk", flat=True)}
        if old != {str(o.pk) for o in new}:
            manager.set(new)
            applied.append(Change(name, sorted(old), sorted(str(o.pk) for o in new)))
    if applied:
        audit(tenant=package.tenant, actor=actor, activity="Update access package", targets=[Target(package, applied)])
    return package


@transaction.atomic
def package_incompatible_set(*, actor: Actor, package: AccessPackage, other: AccessPackage | Group,
                             add: bool) -> AccessPackage:
    """Add or remove one incompatible package or group (Graph's ``$ref`` writes)."""
    name = "incompatible_groups" if isinstance(other, Group) else "incompatible_packages"
    current = list(getattr(package, name).all())
    new = ([*current, other] if other not in current else current) if add else [o for o in current if o != other]
    return package_update(actor=actor, package=package, changes={name: new})


@transaction.atomic
def package_delete(*, actor: Actor, package: AccessPackage) -> None:
    """Delete a package nobody holds (Entra refuses while it has assignments)."""
    actor = authorize_catalog(actor, package.catalog, "packages")
    if package.assignments.filter(state__in=["delivering", "partiallyDelivered", "delivered"]).exists():
        raise ValidationError(_("Remove the package's assignments first."))
    audit(tenant=package.tenant, actor=actor, activity="Delete access package", targets=[Target(package)])
    package.delete()


@transaction.atomic
def role_scope_add(*, actor: Actor, package: AccessPackage, resource: CatalogResource, role: str) -> ResourceRoleScope:
    """Let the package grant ``role`` of ``resource`` (a resource of the package's catalog). Who holds the
    package already gets it when the next delivery or reprocess runs."""
    actor = authorize_catalog(actor, package.catalog, "packages")
    if resource.catalog_id != package.catalog_id:
        raise ValidationError({"resource": _("The resource is not in the package's catalog.")})
    allowed = ({ResourceRole.MEMBER, ResourceRole.OWNER} if resource.group_id else {ResourceRole.DEFAULT_ACCESS})
    if role not in allowed:
        raise ValidationError({"role": _("This resource has no role “%(role)s”.") % {"role": role}})
    scope, created = ResourceRoleScope.objects.get_or_create(package=package, resource=resource, role=role)
    if created:
        audit(tenant=package.tenant, actor=actor, activity="Add resource role to access package",
              targets=[Target(package, [Change("resourceRole", None, f"{role} · {resource.display_name}")])])
    return scope


@transaction.atomic
def role_scope_remove(*, actor: Actor, scope: ResourceRoleScope) -> None:
    actor = authorize_catalog(actor, scope.package.catalog, "packages")
    audit(tenant=scope.package.tenant, actor=actor, activity="Remove resource role from access package",
          targets=[Target(scope.package, [Change("resourceRole", f"{scope.role} · {scope.resource.display_name}",
                                                  None)])])
    scope.delete()


# --- policies ------------------------------------------------------------------------------------

POLICY_FIELDS = {
    "display_name", "description", "allowed_target_scope", "specific_allowed_targets", "enable_targets_to_self_add",
    "enable_targets_to_self_update", "enable_targets_to_self_remove", "allow_custom_schedule",
    "is_approval_required_for_add", "is_approval_required_for_update", "is_requestor_justification_required",
    "expiration_type", "expiration_end", "expiration_duration",
}
STAGE_FIELDS = {
    "duration_before_automatic_denial", "is_approver_justification_required", "is_escalation_enabled",
    "duration_before_escalation", "primary_approvers", "fallback_primary_approvers", "escalation_approvers",
    "fallback_escalation_approvers",
}
QUESTION_FIELDS = {"kind", "is_required", "is_single_line", "text", "localizations", "choices",
                   "allows_multiple_selection", "sequence"}
TARGET_SETS = {"singleUser": "userId", "groupMembers": "groupId",
               "connectedOrganizationMembers": "connectedOrganizationId"}
APPROVER_SETS = {"singleUser": "userId", "groupMembers": "groupId", "requestorManager": None,
                 "internalSponsors": None, "externalSponsors": None, "targetUserSponsors": None}
MAX_STAGES = 3
MAX_EXPIRATION = timedelta(days=3660)


def subject_kind(subject: dict) -> str:
    return str(subject.get("@odata.type", "")).rsplit(".", 1)[-1]


def _validate_subjects(subjects, allowed: dict, field: str) -> list[dict]:
    if not isinstance(subjects, list):
        raise ValidationError({field: _("Give a list of subject sets.")})
    for subject in subjects:
        kind = subject_kind(subject) if isinstance(subject, dict) else ""
        if kind not in allowed:
            raise ValidationError({field: _("“%(kind)s” is not a subject set this accepts.") % {"kind": kind or "?"}})
        key = allowed[kind]
        if key and not subject.get(key):
            raise ValidationError({field: _("A %(kind)s subject set needs %(key)s.") % {"kind": kind, "key": key}})
    return subjects


def _validate_policy(policy: AssignmentPolicy) -> None:
    _validate_subjects(policy.specific_allowed_targets, TARGET_SETS, "specificAllowedTargets")
    T = AssignmentPolicy.TargetScope
    if policy.allowed_target_scope in (T.SPECIFIC_DIRECTORY_USERS, T.SPECIFIC_CONNECTED_ORGANIZATION_USERS) \
            and not policy.specific_allowed_targets:
        raise ValidationError({"specificAllowedTargets": _("Name the users, groups or organizations who may request.")})
    E = AssignmentPolicy.ExpirationType
    if policy.expiration_type == E.AFTER_DATE_TIME and not policy.expiration_end:
        raise ValidationError({"expiration": _("Give the date access ends.")})
    if policy.expiration_type == E.AFTER_DURATION and not (
            policy.expiration_duration and timedelta(hours=1) <= policy.expiration_duration <= MAX_EXPIRATION):
            raise ValidationError({"expiration": _("Access lasts between 1 hour and 3660 days.")})


def _validate_stages(stages: list[dict]) -> None:
    if len(stages) > MAX_STAGES:
        raise ValidationError({"stages": _("An approval has at most three stages.")})
    for stage in stages:
        _known(stage, STAGE_FIELDS)
        for name in ("primary_approvers", "fallback_primary_approvers", "escalation_approvers",
                     "fallback_escalation_approvers"):
            _validate_subjects(stage.get(name, []), APPROVER_SETS, name)
        deny = stage.get("duration_before_automatic_denial") or timedelta(days=14)
        if not timedelta(days=1) <= deny <= timedelta(days=14):
            raise ValidationError({"stages": _("A decision must be made within 1 to 14 days.")})
        if stage.get("is_escalation_enabled"):
            escalate = stage.get("duration_before_escalation")
            # Entra: escalation not before day 1, and the stage's timeout must be at least 4 days.
            if not escalate or escalate < timedelta(days=1) or escalate >= deny:
                raise ValidationError({"stages": _("Forward to alternate approvers after at least one day and "
                                                   "before the decision is due.")})
            if deny < timedelta(days=4):
                raise ValidationError({"stages": _("With alternate approvers the decision is due after 4 days or more.")})
            if not stage.get("escalation_approvers"):
                raise ValidationError({"stages": _("Name the alternate approvers.")})
        if not stage.get("primary_approvers"):
            raise ValidationError({"stages": _("Name the approvers of every stage.")})


def _validate_questions(questions: list[dict]) -> None:
    for question in questions:
        _known(question, QUESTION_FIELDS)
        if not str(question.get("text", "")).strip():
            raise ValidationError({"questions": _("A question needs its text.")})
        if question.get("kind") == Question.Kind.MULTIPLE_CHOICE and not question.get("choices"):
            raise ValidationError({"questions": _("A multiple choice question needs its choices.")})


def _replace_children(policy: AssignmentPolicy, stages: list[dict] | None, questions: list[dict] | None) -> list[Change]:
    changes = []
    if stages is not None:
        old = len(policy.stages.all())
        policy.stages.all().delete()
        ApprovalStage.objects.bulk_create(
            ApprovalStage(policy=policy, order=n, **stage) for n, stage in enumerate(stages, start=1))
        changes.append(Change("stages", old, len(stages)))
    if questions is not None:
        old = [q.text for q in policy.questions.all()]
        policy.questions.all().delete()
        Question.objects.bulk_create(
            Question(policy=policy, **{"sequence": n, **question}) for n, question in enumerate(questions))
        changes.append(Change("questions", old, [q["text"] for q in questions]))
    return changes


@transaction.atomic
def policy_create(*, actor: Actor, package: AccessPackage, display_name: str, stages: list[dict] = (),
                  questions: list[dict] = (), **fields: Any) -> AssignmentPolicy:
    """Create a policy: who may request, approval stages (≤ 3), questions and expiration."""
    actor = authorize_catalog(actor, package.catalog, "packages")
    _known(fields, POLICY_FIELDS)
    stages, questions = list(stages), list(questions)
    policy = AssignmentPolicy(tenant=package.tenant, package=package, display_name=display_name, **fields)
    if policy.is_approval_required_for_add and not stages:
        raise ValidationError({"stages": _("An approval needs at least one stage.")})
    _validate_policy(policy)
    _validate_stages(stages)
    _validate_questions(questions)
    validate_and_save(policy)
    children = _replace_children(policy, stages, questions)
    audit(tenant=package.tenant, actor=actor, activity="Create access package assignment policy",
          targets=[Target(policy, [Change(name, None, getattr(policy, name)) for name in (
              "display_name", "allowed_target_scope", "is_approval_required_for_add", "expiration_type")] + children),
              Target(package)])
    return policy


@transaction.atomic
def policy_update(*, actor: Actor, policy: AssignmentPolicy, changes: dict[str, Any],
                  stages: list[dict] | None = None, questions: list[dict] | None = None) -> AssignmentPolicy:
    """Change a policy. As in Entra, pending and approved requests keep what they were made with."""
    actor = authorize_catalog(actor, policy.package.catalog, "packages")
    _known(changes, POLICY_FIELDS)
    policy = AssignmentPolicy.objects.select_for_update().get(pk=policy.pk)
    applied = apply_changes(policy, changes)
    if stages is not None:
        _validate_stages(stages)
    if policy.is_approval_required_for_add and not (stages if stages is not None else policy.stages.exists()):
        raise ValidationError({"stages": _("An approval needs at least one stage.")})
    if questions is not None:
        _validate_questions(questions)
    _validate_policy(policy)
    if applied:
        validate_and_save(policy)
    applied += _replace_children(policy, stages, questions)
    if applied:
        audit(tenant=policy.tenant, actor=actor, activity="Update access package assignment policy",
              targets=[Target(policy, applied)])
    return policy


@transaction.atomic
def policy_delete(*, actor: Actor, policy: AssignmentPolicy) -> None:
    actor = authorize_catalog(actor, policy.package.catalog, "packages")
    audit(tenant=policy.tenant, actor=actor, activity="Delete access package assignment policy",
          targets=[Target(policy)])
    policy.delete()


def _known(fields: dict, allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(_("Unknown properties: %(names)s") % {"names": ", ".join(sorted(unknown))})
