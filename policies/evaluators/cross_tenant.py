"""Cross-tenant access settings as pure decisions: which settings apply between two organizations, and
whether one person may go from their home tenant into a resource tenant (and one of its apps).

The resource tenant checks its **inbound** settings for the partner (the home tenant), the home tenant its
**outbound** settings for the resource tenant (Entra: "home outbound + resource inbound + resource CA, then
trust"). Both sides name the same person and app: the user and group ids are the person's in the home
tenant, the app id the resource tenant's application. Nothing here reads the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from ..models.cross_tenant import ALL_APPLICATIONS, ALL_USERS
from .collaboration import Decision

INHERITABLE = ("b2b_collaboration_inbound", "b2b_collaboration_outbound", "inbound_trust")


@dataclass(frozen=True)
class EffectiveSettings:
    """One tenant's settings toward one external organization: the partner entry's where it has them,
    the default's otherwise (Entra's "Inherited from default")."""

    inbound: dict
    outbound: dict
    inbound_trust: dict
    automatic_inbound: bool = False
    automatic_outbound: bool = False
    from_partner: bool = False  # a partner entry exists (automatic redemption lives only there)


def effective_settings(default, partner=None) -> EffectiveSettings:
    """``default`` and ``partner`` are the stored rows (or anything with the same attributes)."""
    values = {name: (getattr(partner, name, None) if partner is not None else None) for name in INHERITABLE}
    for name in INHERITABLE:
        if values[name] is None:
            values[name] = getattr(default, name)
    consent = (partner.automatic_user_consent_settings or {}) if partner is not None else {}
    return EffectiveSettings(
        inbound=values["b2b_collaboration_inbound"], outbound=values["b2b_collaboration_outbound"],
        inbound_trust=values["inbound_trust"] or {},
        automatic_inbound=bool(consent.get("inboundAllowed")), automatic_outbound=bool(consent.get("outboundAllowed")),
        from_partner=partner is not None,
    )


def _matches(targets: list, ids: set[str], everyone: str) -> bool:
    return any(t.get("target") == everyone or str(t.get("target", "")).lower() in ids for t in targets or [])


def users_and_groups_allow(setting: dict, *, user_id: str | None, group_ids: Iterable[str] = ()) -> bool:
    """Does the ``usersAndGroups`` half of a B2B setting let this person through? "allowed" lets only the
    targets through, "blocked" stops only the targets."""
    part = (setting or {}).get("usersAndGroups") or {}
    ids = {str(g).lower() for g in group_ids}
    if user_id:
        ids.add(str(user_id).lower())
    hit = _matches(part.get("targets"), ids, ALL_USERS)
    return hit if part.get("accessType") == "allowed" else not hit


def applications_allow(setting: dict, *, app_id: str | None) -> bool:
    """Does the ``applications`` half let this app through? Without an app (entering the tenant itself, or
    redeeming), only "all applications blocked" refuses: some app the person may use is still there."""
    part = (setting or {}).get("applications") or {}
    targets = part.get("targets") or []
    if app_id is None:
        return not (part.get("accessType") == "blocked" and _matches(targets, set(), ALL_APPLICATIONS))
    hit = _matches(targets, {str(app_id).lower()}, ALL_APPLICATIONS)
    return hit if part.get("accessType") == "allowed" else not hit


@dataclass(frozen=True)
class CrossTenantDecision:
    inbound: Decision
    outbound: Decision
    mfa_trusted: bool = False
    compliant_device_trusted: bool = False
    automatic_redemption: bool = False  # resource inbound and home outbound automatic redemption both on

    @property
    def allowed(self) -> bool:
        return self.inbound.allowed and self.outbound.allowed

    @property
    def reason(self) -> str:
        return next(iter(self.inbound.reasons or self.outbound.reasons), "")

    @property
    def code(self) -> str:
        return self.inbound.code or self.outbound.code


def evaluate_b2b(setting: dict, *, user_id: str | None, group_ids: Iterable[str] = (), app_id: str | None = None,
                 direction: str, organization: str) -> Decision:
    """One side's B2B collaboration setting for one person (and app). ``direction``: "inbound" (the
    resource tenant's view) or "outbound" (the home tenant's); ``organization`` names the other side in the
    reason."""
    if not users_and_groups_allow(setting, user_id=user_id, group_ids=group_ids):
        if direction == "inbound":
            return Decision.deny("inbound_user_blocked", _(
                "%(org)s does not allow users from your organization in (cross-tenant access settings).")
                % {"org": organization})
        return Decision.deny("outbound_user_blocked", _(
            "Your organization does not allow you to collaborate with %(org)s (cross-tenant access settings).")
            % {"org": organization})
    if not applications_allow(setting, app_id=app_id):
        if direction == "inbound":
            return Decision.deny("inbound_application_blocked", _(
                "%(org)s does not allow users from your organization to use this application (cross-tenant access "
                "settings).") % {"org": organization})
        return Decision.deny("outbound_application_blocked", _(
            "Your organization does not allow you to use this application of %(org)s (cross-tenant access "
            "settings).") % {"org": organization})
    return Decision.allow()


def evaluate_cross_tenant(*, resource: EffectiveSettings, home: EffectiveSettings | None, user_id: str | None,
                          group_ids: Iterable[str] = (), app_id: str | None = None, resource_name: str = "",
                          home_name: str = "") -> CrossTenantDecision:
    """May a person of the home tenant come into the resource tenant (and ``app_id``)?

    ``resource``: the resource tenant's settings toward the home tenant; ``home``: the home tenant's settings
    toward the resource tenant, or None when the home tenant is not known here (another deployment answers
    for its own outbound side, before its identity provider answers)."""
    group_ids = tuple(group_ids)
    inbound = evaluate_b2b(resource.inbound, user_id=user_id, group_ids=group_ids, app_id=app_id,
                           direction="inbound", organization=resource_name or _("This organization"))
    outbound = Decision.allow() if home is None else evaluate_b2b(
        home.outbound, user_id=user_id, group_ids=group_ids, app_id=app_id, direction="outbound",
        organization=resource_name or _("this organization"))
    return CrossTenantDecision(
        inbound=inbound, outbound=outbound,
        mfa_trusted=bool(resource.inbound_trust.get("isMfaAccepted")),
        compliant_device_trusted=bool(resource.inbound_trust.get("isCompliantDeviceAccepted")),
        automatic_redemption=bool(resource.automatic_inbound and home is not None and home.automatic_outbound),
    )
