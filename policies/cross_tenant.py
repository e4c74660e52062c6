"""What a cross-tenant access setting must look like (Graph's shapes and Entra's consistency rules): the
one place the admin console and the API have it checked, through the services."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError

from .models.cross_tenant import ALL_APPLICATIONS, ALL_USERS, FALLBACK_PROVIDER_TYPES, PRIMARY_PROVIDER_TYPES

ACCESS_TYPES = ("allowed", "blocked")

#: Graph property → model field, for the properties default and partner share.
B2B_FIELDS = {
    "b2bCollaborationInbound": "b2b_collaboration_inbound",
    "b2bCollaborationOutbound": "b2b_collaboration_outbound",
    "b2bDirectConnectInbound": "b2b_direct_connect_inbound",
    "b2bDirectConnectOutbound": "b2b_direct_connect_outbound",
}
SHARED_FIELDS = {**B2B_FIELDS, "inboundTrust": "inbound_trust",
                 "automaticUserConsentSettings": "automatic_user_consent_settings"}
DEFAULT_FIELDS = {**SHARED_FIELDS, "invitationRedemptionIdentityProviderConfiguration":
                  "invitation_redemption_identity_provider_configuration"}
PARTNER_FIELDS = {**SHARED_FIELDS, "isServiceProvider": "is_service_provider"}
TRUST_KEYS = ("isMfaAccepted", "isCompliantDeviceAccepted", "isHybridAzureADJoinedDeviceAccepted")


class CrossTenantSettingsInvalid(ValidationError):
    """A setting Graph would refuse; the message names the property as Graph does."""


def _target_config(value, name: str, *, kind: str) -> dict:
    """A ``crossTenantAccessPolicyTargetConfiguration``; ``kind`` "usersAndGroups" or "applications"."""
    everyone = ALL_USERS if kind == "usersAndGroups" else ALL_APPLICATIONS
    types = ("user", "group") if kind == "usersAndGroups" else ("application",)
    if not isinstance(value, dict) or set(value) - {"accessType", "targets"}:
        raise CrossTenantSettingsInvalid(f"{name} must be an object with accessType and targets.")
    access = value.get("accessType")
    if access not in ACCESS_TYPES:
        raise CrossTenantSettingsInvalid(f"{name}.accessType must be allowed or blocked.")
    targets = value.get("targets")
    if not isinstance(targets, list) or not targets:
        raise CrossTenantSettingsInvalid(f"{name}.targets must list at least one target.")
    clean, seen = [], set()
    for target in targets:
        if not isinstance(target, dict) or set(target) - {"target", "targetType"}:
            raise CrossTenantSettingsInvalid(f"{name}.targets: each target is {{target, targetType}}.")
        ident, target_type = target.get("target"), target.get("targetType")
        if target_type not in types:
            raise CrossTenantSettingsInvalid(
                f"Cross-tenant access settings, Found invalid target type for {kind}: '{str(target_type)[:40]}'.")
        if ident == everyone:
            if target_type != types[0]:
                raise CrossTenantSettingsInvalid(f"{everyone} has targetType {types[0]}.")
        else:
            try:
                ident = str(uuid.UUID(str(ident)))
            except ValueError:
                noun = "Applications" if kind == "applications" else "Users and Groups"
                raise CrossTenantSettingsInvalid(
                    f"Cross-tenant access settings, Found invalid target for {noun}: '{str(ident)[:60]}'.") from None
        if ident not in seen:
            seen.add(ident)
            clean.append({"target": ident, "targetType": target_type})
    if everyone in seen and len(clean) > 1:
        raise CrossTenantSettingsInvalid(f"{name}.targets: {everyone} cannot be combined with other targets.")
    return {"accessType": access, "targets": clean}


def _all_blocked(part: dict, everyone: str) -> bool:
    return part["accessType"] == "blocked" and any(t["target"] == everyone for t in part["targets"])


def validate_b2b_setting(value, name: str, *, default_inbound: bool = False) -> dict:
    """A ``crossTenantAccessPolicyB2BSetting``, normalized. Entra's rules: both halves are given; users and
    applications agree (blocking all users blocks all applications and the other way round); the default's
    inbound setting names no external users or groups (those belong to an organization's settings)."""
    if not isinstance(value, dict) or set(value) != {"usersAndGroups", "applications"}:
        raise CrossTenantSettingsInvalid(f"{name} must have both usersAndGroups and applications.")
    users = _target_config(value["usersAndGroups"], f"{name}.usersAndGroups", kind="usersAndGroups")
    apps = _target_config(value["applications"], f"{name}.applications", kind="applications")
    if _all_blocked(users, ALL_USERS) != _all_blocked(apps, ALL_APPLICATIONS):
        raise CrossTenantSettingsInvalid(
            f"Invalid {name}: blocking all users and groups requires blocking all applications, and blocking all "
            "applications requires blocking all users and groups.")
    if default_inbound and any(t["target"] != ALL_USERS for t in users["targets"]):
        raise CrossTenantSettingsInvalid(
            f"{name}.usersAndGroups: the default settings cannot target external users or groups; add the "
            "organization and target them in its settings.")
    return {"usersAndGroups": users, "applications": apps}


def validate_inbound_trust(value) -> dict:
    if not isinstance(value, dict) or set(value) - set(TRUST_KEYS):
        raise CrossTenantSettingsInvalid("inboundTrust has only " + ", ".join(TRUST_KEYS) + ".")
    if any(not isinstance(v, bool) for v in value.values() if v is not None):
        raise CrossTenantSettingsInvalid("inboundTrust values must be true or false.")
    return {k: bool(value.get(k)) for k in TRUST_KEYS}


def validate_automatic_consent(value) -> dict:
    if not isinstance(value, dict) or set(value) - {"inboundAllowed", "outboundAllowed"}:
        raise CrossTenantSettingsInvalid("automaticUserConsentSettings has only inboundAllowed and outboundAllowed.")
    if any(not isinstance(v, bool) for v in value.values() if v is not None):
        raise CrossTenantSettingsInvalid("automaticUserConsentSettings values must be true or false.")
    return {"inboundAllowed": bool(value.get("inboundAllowed")), "outboundAllowed": bool(value.get("outboundAllowed"))}


def validate_redemption_configuration(value) -> dict:
    """``invitationRedemptionIdentityProviderConfiguration``: primary providers reorderable, no repeats; a
    fallback always stays on (Entra)."""
    if not isinstance(value, dict) or set(value) - {"primaryIdentityProviderPrecedenceOrder", "fallbackIdentityProvider"}:
        raise CrossTenantSettingsInvalid("invitationRedemptionIdentityProviderConfiguration has only "
                                         "primaryIdentityProviderPrecedenceOrder and fallbackIdentityProvider.")
    order = value.get("primaryIdentityProviderPrecedenceOrder")
    if not isinstance(order, list) or any(p not in PRIMARY_PROVIDER_TYPES for p in order) or len(set(order)) != len(order):
        raise CrossTenantSettingsInvalid("primaryIdentityProviderPrecedenceOrder lists each of " +
                                         ", ".join(PRIMARY_PROVIDER_TYPES) + " at most once.")
    fallback = value.get("fallbackIdentityProvider")
    if fallback not in FALLBACK_PROVIDER_TYPES:
        raise CrossTenantSettingsInvalid("fallbackIdentityProvider must be one of " + ", ".join(FALLBACK_PROVIDER_TYPES)
                                         + ": at least one fallback stays enabled.")
    return {"primaryIdentityProviderPrecedenceOrder": list(order), "fallbackIdentityProvider": fallback}


def _without_annotations(value):
    """The value without ``@odata.type`` annotations (Graph's SDKs send them on every nested object)."""
    if isinstance(value, dict):
        return {k: _without_annotations(v) for k, v in value.items() if k != "@odata.type"}
    if isinstance(value, list):
        return [_without_annotations(v) for v in value]
    return value


def validate_changes(changes: dict, *, fields: dict[str, str], is_default: bool) -> dict:
    """Graph-named ``changes`` → {model field: normalized value}. On a partner, null means "inherited
    from default" (except for automatic redemption, which only an organization has)."""
    out = {}
    for name, value in changes.items():
        value = _without_annotations(value)
        if name not in fields:
            raise CrossTenantSettingsInvalid(f"Property '{str(name)[:60]}' cannot be set here.")
        field = fields[name]
        if value is None and not is_default and name not in ("automaticUserConsentSettings",):
            out[field] = None
        elif name in B2B_FIELDS:
            if name.startswith("b2bDirectConnect"):
                # Direct connect (Teams shared channels) does not exist on this platform: stored, never enforced.
                out[field] = validate_b2b_setting(value, name)
            else:
                out[field] = validate_b2b_setting(value, name,
                                                  default_inbound=is_default and name == "b2bCollaborationInbound")
        elif name == "inboundTrust":
            out[field] = validate_inbound_trust(value)
        elif name == "automaticUserConsentSettings":
            out[field] = validate_automatic_consent(value or {})
        elif name == "invitationRedemptionIdentityProviderConfiguration":
            out[field] = validate_redemption_configuration(value)
        elif name == "isServiceProvider":
            if not isinstance(value, bool):
                raise CrossTenantSettingsInvalid("isServiceProvider must be true or false.")
            out[field] = value
    return out
