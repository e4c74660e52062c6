"""Writes to conditional access: policies and named locations (``Policy.ReadWrite.ConditionalAccess``).

Every write takes Graph's shape (the API passes the body, the admin console builds the same dict),
normalizes it with :mod:`policies.conditional_access`, finds every id it names in the tenant, saves,
audits (category ``Policy``) and invalidates the tenant's compiled policies once the transaction
commits (``policies.access.invalidate``).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor
from directory.audit import Change, Target, audit, register_activities, register_target_type
from directory.models import Application, Group, RoleAssignment, Tenant, User
from directory.services import authorize

from ..access import guest_type_of, invalidate
from ..conditional_access import (
    PolicyInvalid,
    _rule_error,
    normalize_conditions,
    normalize_countries,
    normalize_grant_controls,
    normalize_ip_ranges,
    normalize_session_controls,
)
from ..evaluators.conditional_access import SignInContext, compile_policy, evaluate_conditional_access
from ..models import Agreement, ConditionalAccessPolicy, NamedLocation
from ..models.conditional_access import MAX_NAMED_LOCATIONS_PER_TENANT, MAX_POLICIES_PER_TENANT
from .collaboration import CATEGORY_POLICY

WRITE = "Policy.ReadWrite.ConditionalAccess"
STATES = tuple(ConditionalAccessPolicy.State.values)

register_activities(CATEGORY_POLICY, {
    "Add conditional access policy": "Add", "Update conditional access policy": "Update",
    "Delete conditional access policy": "Delete", "Add named location": "Add", "Update named location": "Update",
    "Delete named location": "Delete",
})
register_target_type(ConditionalAccessPolicy, "Policy")
register_target_type(NamedLocation, "Policy")


class LockoutRisk(PolicyInvalid):
    """Saving would block the admin who saves it, or every administrator, from the admin console.
    ``exclude_user_id`` is the exclusion to suggest (the saving admin), when there is one."""

    def __init__(self, message: str, *, exclude_user_id: str | None = None):
        super().__init__(message, code="lockout")
        self.exclude_user_id = exclude_user_id


def _merge(old: Any, new: Any) -> Any:
    """Graph's PATCH of a complex property: objects merge key by key, anything else is replaced."""
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _merge(old.get(key), value)
        return merged
    return new


def check_references(tenant: Tenant, conditions_refs: dict[str, set[str]], agreements: set[str]) -> None:
    """Every id the policy names exists in the tenant (one query per kind named; none when none is)."""
    checks = (
        ("users", User.objects.active().filter(tenant=tenant), "pk", "InvalidConditionsUsers", _("user")),
        ("groups", Group.objects.filter(tenant=tenant), "pk", "InvalidConditionsUsers", _("group")),
        ("applications", Application.objects.filter(tenant=tenant), "app_id", "InvalidConditionsApplications",
         _("application")),
        ("locations", NamedLocation.objects.filter(tenant=tenant), "pk", "InvalidConditionsLocations",
         _("named location")),
    )
    for key, queryset, field, reason, noun in checks:
        wanted = conditions_refs.get(key) or set()
        if not wanted:
            continue
        found = {str(v) for v in queryset.filter(**{f"{field}__in": list(wanted)}).values_list(field, flat=True)}
        missing = sorted(wanted - found)
        if missing:
            raise _rule_error(reason, f"'{missing[0]}' is not a {noun} of this organization.")
    if agreements:
        found = {str(v) for v in Agreement.objects.filter(tenant=tenant, pk__in=list(agreements))
                 .values_list("pk", flat=True)}
        missing = sorted(agreements - found)
        if missing:
            raise _rule_error("InvalidTermsOfUse", f"'{missing[0]}' is not a terms of use of this organization.")


def _normalize(tenant: Tenant, data: dict) -> dict:
    """The model fields for a Graph-shaped policy ``data`` (every property present), checked."""
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise PolicyInvalid("1007: Incoming ConditionalAccessPolicy object is null or does not match the schema of "
                            "ConditionalAccessPolicy type. displayName is required.")
    if len(name) > 256:
        raise PolicyInvalid("displayName is longer than 256 characters.")
    state = data.get("state")
    if state not in STATES:
        raise PolicyInvalid("state must be enabled, disabled or enabledForReportingButNotEnforced.")
    conditions, refs = normalize_conditions(data.get("conditions"))
    grant, agreements = normalize_grant_controls(data.get("grantControls"))
    session = normalize_session_controls(data.get("sessionControls"))
    if grant is None and session is None:
        raise _rule_error("InvalidControls", "A policy needs grant controls or session controls.")
    if conditions["applications"]["includeUserActions"] and state == "enabledForReportingButNotEnforced":
        raise _rule_error("InvalidState", "Report-only mode is not available for policies that target user actions.")
    check_references(tenant, refs, agreements)
    return {"display_name": name.strip(), "state": state, "conditions": conditions, "grant_controls": grant,
            "session_controls": session}


def _context(user: User, groups: set[str], roles: set[str]) -> SignInContext:
    from directory.access import CONSOLE

    return SignInContext(user_id=str(user.pk), guest_type=guest_type_of(user), group_ids=frozenset(groups),
                         role_ids=frozenset(roles), resource=CONSOLE)


def lockout_risk(*, tenant: Tenant, fields: dict, actor: Actor, policy_id=None) -> LockoutRisk | None:
    """Would this policy, switched on, block the admin who saves it, or every administrator, from the admin
    console (wherever they sign in from: locations, platforms and client apps are left out)? Three
    queries, whatever the size of the tenant."""
    if fields["state"] != "enabled" or "block" not in ((fields["grant_controls"] or {}).get("builtInControls") or []):
        return None
    probe = dataclasses.replace(
        compile_policy(ConditionalAccessPolicy(id=policy_id or uuid.uuid4(), tenant=tenant, **fields)),
        include_locations=None, include_platforms=None, client_app_types=frozenset({"all"}))
    admins: dict[str, set[str]] = {}
    for user_id, role in RoleAssignment.objects.filter(tenant=tenant, user__deleted_at__isnull=True,
                                                       user__account_enabled=True).values_list("user_id", "role"):
        admins.setdefault(str(user_id), set()).add(role)
    me = actor.user if actor.user is not None and actor.user.tenant_id == tenant.pk else None
    people = set(admins) | ({str(me.pk)} if me is not None else set())
    if not people:
        return None
    groups: dict[str, set[str]] = {}
    for user_id, group_id in Group.members.through.objects.filter(user_id__in=people).values_list("user_id",
                                                                                                   "group_id"):
        groups.setdefault(str(user_id), set()).add(str(group_id))
    users = {str(u.pk): u for u in User.objects.filter(pk__in=people)}

    def blocked(user_id: str) -> bool:
        context = _context(users[user_id], groups.get(user_id, set()), admins.get(user_id, set()))
        return evaluate_conditional_access((probe,), (), context).blocked

    if me is not None and blocked(str(me.pk)):
        return LockoutRisk(
            _("This policy would block you from the admin console. Exclude yourself (or an emergency-access "
              "account) from it, or confirm that you want to save it anyway."), exclude_user_id=str(me.pk))
    if admins and all(blocked(uid) for uid in admins if uid in users):
        return LockoutRisk(_("This policy would block every administrator of this organization from the admin "
                             "console. Exclude at least one administrator (an emergency-access account), or "
                             "confirm that you want to save it anyway."),
                           exclude_user_id=str(me.pk) if me is not None else next(iter(sorted(admins))))
    return None


def _graph_of(policy: ConditionalAccessPolicy) -> dict:
    return {"displayName": policy.display_name, "state": policy.state, "conditions": policy.conditions,
            "grantControls": policy.grant_controls, "sessionControls": policy.session_controls}


@transaction.atomic
def conditional_access_policy_create(*, actor: Actor, tenant: Tenant, data: dict,
                                     acknowledge_lockout: bool = False) -> ConditionalAccessPolicy:
    """Add a conditional access policy (Graph's shape in ``data``). At most 195 per tenant; a policy that
    would lock the admin (or every admin) out of the console needs ``acknowledge_lockout``."""
    authorize(actor, WRITE, tenant=tenant)
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()  # one count at a time per tenant
    if ConditionalAccessPolicy.objects.filter(tenant=tenant).count() >= MAX_POLICIES_PER_TENANT:
        raise PolicyInvalid(f"1040: The number of conditional access policies in this organization has reached the "
                            f"limit of {MAX_POLICIES_PER_TENANT}.")
    fields = _normalize(tenant, data)
    if not acknowledge_lockout:
        risk = lockout_risk(tenant=tenant, fields=fields, actor=actor)
        if risk is not None:
            raise risk
    now = timezone.now()
    policy = ConditionalAccessPolicy.objects.create(tenant=tenant, created_at=now, **fields)
    audit(tenant=tenant, actor=actor, activity="Add conditional access policy",
          targets=[Target(policy, [Change(k, None, v) for k, v in _graph_of(policy).items()])],
          details={"lockoutAcknowledged": True} if acknowledge_lockout else None)
    invalidate(tenant.pk)
    return policy


@transaction.atomic
def conditional_access_policy_update(*, actor: Actor, policy: ConditionalAccessPolicy, changes: dict,
                                     acknowledge_lockout: bool = False) -> ConditionalAccessPolicy:
    """Change a policy: Graph's PATCH (complex properties merge, lists are replaced)."""
    authorize(actor, WRITE, tenant=policy.tenant)
    policy = ConditionalAccessPolicy.objects.select_for_update().get(pk=policy.pk, tenant_id=policy.tenant_id)
    old = _graph_of(policy)
    new = dict(old)
    for key, value in changes.items():
        new[key] = value if key in ("displayName", "state") or value is None else _merge(old.get(key), value)
    fields = _normalize(policy.tenant, new)
    if not acknowledge_lockout:
        risk = lockout_risk(tenant=policy.tenant, fields=fields, actor=actor, policy_id=policy.pk)
        # Asked once: a change to a policy that already locked out the same people (a rename) goes through.
        if risk is not None and lockout_risk(tenant=policy.tenant, actor=actor, policy_id=policy.pk, fields={
                "display_name": policy.display_name, "state": policy.state, "conditions": policy.conditions,
                "grant_controls": policy.grant_controls, "session_controls": policy.session_controls}) is None:
            raise risk
    for name, value in fields.items():
        setattr(policy, name, value)
    current = _graph_of(policy)
    applied = [Change(k, old[k], current[k]) for k in current if old[k] != current[k]]
    if not applied:
        return policy
    policy.modified_at = timezone.now()
    policy.save()
    audit(tenant=policy.tenant, actor=actor, activity="Update conditional access policy",
          targets=[Target(policy, applied)],
          details={"lockoutAcknowledged": True} if acknowledge_lockout else None)
    invalidate(policy.tenant_id)
    return policy


@transaction.atomic
def conditional_access_policy_delete(*, actor: Actor, policy: ConditionalAccessPolicy) -> None:
    authorize(actor, WRITE, tenant=policy.tenant)
    audit(tenant=policy.tenant, actor=actor, activity="Delete conditional access policy",
          targets=[Target(policy, [Change(k, v, None) for k, v in _graph_of(policy).items()])])
    tenant_id = policy.tenant_id
    policy.delete()
    invalidate(tenant_id)


# --- named locations ---------------------------------------------------------------------------------


def location_fields(kind: str, data: dict) -> dict:
    name = data.get("displayName")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise PolicyInvalid("displayName is required (at most 256 characters).")
    fields: dict[str, Any] = {"display_name": name.strip()}
    if kind == NamedLocation.Kind.IP:
        trusted = data.get("isTrusted", False)
        if not isinstance(trusted, bool):
            raise PolicyInvalid("isTrusted must be true or false.")
        fields.update(is_trusted=trusted, ip_ranges=normalize_ip_ranges(data.get("ipRanges")))
    else:
        unknown = data.get("includeUnknownCountriesAndRegions", False)
        if not isinstance(unknown, bool):
            raise PolicyInvalid("includeUnknownCountriesAndRegions must be true or false.")
        countries = normalize_countries(data.get("countriesAndRegions") or [])
        if not countries and not unknown:
            raise PolicyInvalid("A countries location needs at least one country or unknown countries/regions.")
        method = data.get("countryLookupMethod") or "clientIpAddress"
        if method != "clientIpAddress":
            raise PolicyInvalid("countryLookupMethod: only clientIpAddress is available in this deployment "
                                "(authenticatorAppGps needs the Authenticator app).")
        fields.update(countries_and_regions=countries, include_unknown_countries_and_regions=unknown,
                      country_lookup_method=method)
    return fields


def _location_graph(location: NamedLocation) -> dict:
    if location.kind == NamedLocation.Kind.IP:
        return {"displayName": location.display_name, "isTrusted": location.is_trusted,
                "ipRanges": list(location.ip_ranges)}
    return {"displayName": location.display_name, "countriesAndRegions": list(location.countries_and_regions),
            "includeUnknownCountriesAndRegions": location.include_unknown_countries_and_regions,
            "countryLookupMethod": location.country_lookup_method}


@transaction.atomic
def named_location_create(*, actor: Actor, tenant: Tenant, kind: str, data: dict) -> NamedLocation:
    """Add an IP ranges (``kind`` "ip") or countries ("country") location; at most 195 per tenant."""
    authorize(actor, WRITE, tenant=tenant)
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    if NamedLocation.objects.filter(tenant=tenant).count() >= MAX_NAMED_LOCATIONS_PER_TENANT:
        raise PolicyInvalid(f"The number of named locations in this organization has reached the limit of "
                            f"{MAX_NAMED_LOCATIONS_PER_TENANT}.")
    location = NamedLocation.objects.create(tenant=tenant, kind=kind, **location_fields(kind, data))
    audit(tenant=tenant, actor=actor, activity="Add named location",
          targets=[Target(location, [Change(k, None, v) for k, v in _location_graph(location).items()])])
    invalidate(tenant.pk)
    return location


@transaction.atomic
def named_location_update(*, actor: Actor, location: NamedLocation, changes: dict) -> NamedLocation:
    authorize(actor, WRITE, tenant=location.tenant)
    location = NamedLocation.objects.select_for_update().get(pk=location.pk, tenant_id=location.tenant_id)
    old = _location_graph(location)
    for name, value in location_fields(location.kind, {**old, **changes}).items():
        setattr(location, name, value)
    new = _location_graph(location)
    applied = [Change(k, old[k], new[k]) for k in new if old[k] != new[k]]
    if not applied:
        return location
    location.modified_at = timezone.now()
    location.save()
    audit(tenant=location.tenant, actor=actor, activity="Update named location", targets=[Target(location, applied)])
    invalidate(location.tenant_id)
    return location


@transaction.atomic
def named_location_delete(*, actor: Actor, location: NamedLocation) -> None:
    """Delete a named location no policy uses (Entra refuses to delete one in use, and a trusted one until
    it is untrusted)."""
    authorize(actor, WRITE, tenant=location.tenant)
    if location.is_trusted:
        raise PolicyInvalid(_("Untrust the location before deleting it."))
    used = [p.display_name for p in ConditionalAccessPolicy.objects.filter(tenant_id=location.tenant_id)
            if str(location.pk) in ((p.conditions.get("locations") or {}).get("includeLocations") or [])
            + ((p.conditions.get("locations") or {}).get("excludeLocations") or [])]
    if used:
        raise PolicyInvalid(_("The location is used by the conditional access policy “%(name)s”; remove it from "
                              "the policy first.") % {"name": used[0]})
    audit(tenant=location.tenant, actor=actor, activity="Delete named location",
          targets=[Target(location, [Change(k, v, None) for k, v in _location_graph(location).items()])])
    tenant_id = location.tenant_id
    location.delete()
    invalidate(tenant_id)


