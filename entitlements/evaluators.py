"""Pure decisions of entitlement management: who may request which package through which policy.

Nothing here reads the database: the services and selectors gather the facts (:class:`Requestor`)
and hand them in; views only translate the :class:`~policies.evaluators.Decision`.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from policies.evaluators import Decision

from .models import AssignmentPolicy

T = AssignmentPolicy.TargetScope


@dataclass(frozen=True)
class Requestor:
    """Who would get the access, as the policies see them."""

    in_directory: bool  # has a user object in the package's tenant
    is_guest: bool = False
    user_id: str | None = None
    group_ids: frozenset[str] = frozenset()  # groups they are a member of here
    #: Their organization among the tenant's connected organizations, and its state.
    organization_id: str | None = None
    organization_state: str | None = None
    blocked: bool = False
    #: Packages they hold now (active assignments) and have open requests for.
    held_package_ids: frozenset[str] = frozenset()
    open_request_package_ids: frozenset[str] = frozenset()

    @property
    def is_external(self) -> bool:
        return self.is_guest or not self.in_directory


@dataclass(frozen=True)
class PackageFacts:
    id: str
    catalog_published: bool
    catalog_external: bool
    incompatible_package_ids: frozenset[str] = frozenset()
    incompatible_group_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RequestInput:
    justification: str = ""
    answers: dict[str, str] = field(default_factory=dict)  # question id → value
    schedule_start: datetime | None = None
    schedule_end: datetime | None = None


def _targets(policy: AssignmentPolicy, kind: str, key: str) -> set[str]:
    return {str(s.get(key)) for s in policy.specific_allowed_targets
            if str(s.get("@odata.type", "")).endswith(kind)}


def policy_applies(policy: AssignmentPolicy, who: Requestor) -> bool:
    """Does ``policy`` let ``who`` request (its ``allowedTargetScope``)?"""
    if not policy.enable_targets_to_self_add:
        return False
    scope = policy.allowed_target_scope
    if scope == T.SPECIFIC_DIRECTORY_USERS:
        return who.in_directory and (who.user_id in _targets(policy, "singleUser", "userId")
                                     or bool(who.group_ids & _targets(policy, "groupMembers", "groupId")))
    if scope == T.ALL_MEMBER_USERS:
        return who.in_directory and not who.is_guest
    if scope == T.ALL_DIRECTORY_USERS:
        return who.in_directory
    if scope == T.SPECIFIC_CONNECTED_ORGANIZATION_USERS:
        return who.is_external and who.organization_id in _targets(
            policy, "connectedOrganizationMembers", "connectedOrganizationId")
    if scope == T.ALL_CONFIGURED_CONNECTED_ORGANIZATION_USERS:
        return who.is_external and who.organization_id is not None and who.organization_state == "configured"
    if scope == T.ALL_EXTERNAL_USERS:
        return who.is_external
    return False  # notSpecified: administrators assign directly


def _tier(policy: AssignmentPolicy) -> int:
    """Entra's precedence: specific users, groups or organizations (1) > all members (2) > all users
    including guests (3) > all configured organizations or all external users (4)."""
    return {T.SPECIFIC_DIRECTORY_USERS: 1, T.SPECIFIC_CONNECTED_ORGANIZATION_USERS: 1, T.ALL_MEMBER_USERS: 2,
            T.ALL_DIRECTORY_USERS: 3}.get(policy.allowed_target_scope, 4)


def applicable_policies(policies, who: Requestor) -> list[AssignmentPolicy]:
    """The policies ``who`` may request through: those of the best tier that applies (lower tiers are
    ignored, as in Entra); with several in that tier the requestor chooses."""
    matching = [p for p in policies if policy_applies(p, who)]
    if not matching:
        return []
    best = min(_tier(p) for p in matching)
    return [p for p in matching if _tier(p) == best]


def evaluate_request(*, package: PackageFacts, policy: AssignmentPolicy | None, policies, who: Requestor,
                     questions=(), data: RequestInput = RequestInput(), now: datetime | None = None) -> Decision:
    """May ``who`` request ``package`` through ``policy``? The first reason that refuses, else allow.
    ``policies``: the package's policies; ``questions``: the policy's questions."""
    if who.blocked:
        return Decision.deny("blocked", _("Your account is blocked in this organization."))
    if not package.catalog_published:
        return Decision.deny("catalog_disabled", _("This access package cannot be requested now."))
    if who.is_external and not package.catalog_external:
        return Decision.deny("not_for_external_users", _("This access package is not available to external users."))
    if package.id in who.held_package_ids:
        return Decision.deny("already_assigned", _("You already have this access package."))
    if package.id in who.open_request_package_ids:
        return Decision.deny("request_pending", _("You already have a request for this access package."))
    conflict = who.held_package_ids & package.incompatible_package_ids
    if conflict:
        return Decision.deny("incompatible_package", _(
            "You cannot request this access package because you have an access package that is incompatible "
            "with it (separation of duties)."))
    if who.group_ids & package.incompatible_group_ids:
        return Decision.deny("incompatible_group", _(
            "You cannot request this access package because you are a member of a group that is incompatible "
            "with it (separation of duties)."))
    allowed = applicable_policies(policies, who)
    if policy is None:
        if len(allowed) != 1:
            return Decision.deny("no_policy" if not allowed else "choose_policy",
                                 _("You are not allowed to request this access package.") if not allowed
                                 else _("Choose the policy to request under."))
        policy = allowed[0]
    if policy not in allowed:
        return Decision.deny("not_in_scope", _("You are not allowed to request this access package."))
    if policy.is_requestor_justification_required and not data.justification.strip():
        return Decision.deny("justification_required", _("Give a business justification."))
    for question in questions:
        value = str(data.answers.get(str(question.pk), "")).strip()
        if question.is_required and not value:
            return Decision.deny("answer_required", _("Answer “%(q)s”.") % {"q": question.text})
        if value and question.kind == question.Kind.MULTIPLE_CHOICE:
            offered = {str(c.get("actualValue")) for c in question.choices}
            chosen = value.split(",") if question.allows_multiple_selection else [value]
            if not set(chosen) <= offered:
                return Decision.deny("answer_invalid", _("Pick one of the choices for “%(q)s”.") % {"q": question.text})
    if data.schedule_start or data.schedule_end:
        if not policy.allow_custom_schedule:
            return Decision.deny("schedule_not_allowed", _("This policy does not let you pick dates."))
        if data.schedule_start and data.schedule_end and data.schedule_end <= data.schedule_start:
            return Decision.deny("schedule_invalid", _("The end must be after the start."))
        if policy.expiration_end and data.schedule_end and data.schedule_end > policy.expiration_end:
            return Decision.deny("schedule_invalid", _("Access cannot last past the policy's end date."))
    return Decision(True, code=str(policy.pk))


def may_extend(*, policy: AssignmentPolicy | None, who: Requestor, expires_at, now) -> Decision:
    """Entra: extension needs "allow users to extend", the requestor still in the policy's scope, and
    not past the policy's end date."""
    if policy is None or not policy.enable_targets_to_self_update:
        return Decision.deny("extend_not_allowed", _("This access cannot be extended."))
    if expires_at is None:
        return Decision.deny("never_expires", _("This access does not expire."))
    if policy.expiration_end and policy.expiration_end <= now:
        return Decision.deny("policy_ended", _("The policy's end date has passed."))
    probe = Requestor(**{**who.__dict__, "held_package_ids": frozenset(), "open_request_package_ids": frozenset()})
    if not policy_applies(policy, probe):
        return Decision.deny("not_in_scope", _("You are no longer allowed to request this access package."))
    return Decision.allow()
