"""Conditional access in Graph's shape: well-known ids, and the one normalizer every write goes through.

A policy is stored as the JSON Graph sends (``conditionalAccessPolicy``): :func:`normalize_policy`
checks it, fills Graph's defaults (empty lists, ``operator`` "OR", …) and returns it together with the
ids it names, which the service then finds in the tenant. Messages follow Graph's conditional access
errors (``1007: …`` for a body that does not fit the type, ``1032: … validation failed due to …`` for a
rule it breaks), so clients written against Entra see familiar text.

Well-known ids used here (documented in docs/api.md):

- the admin console is Entra's ``MicrosoftAdminPortals`` group of apps: a policy names it with that
  word or with the Azure portal's app id ``c44b4083-3bb0-49c1-b47d-974e53cbdf3c``;
- the access panel is the My Apps app id ``2793995e-0a7d-40d7-bd35-6968ba142197``;
- the Graph API (a delegated token) is Microsoft Graph's app id ``00000003-0000-0000-c000-000000000000``;
- built-in authentication strengths are Graph's ids ``00000000-0000-0000-0000-00000000000{2,3,4}``.
"""

from __future__ import annotations

import ipaddress
import uuid

from django.core.exceptions import ValidationError

from directory.models import Role

ADMIN_PORTALS = "MicrosoftAdminPortals"
ADMIN_PORTAL_APP_ID = "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
MY_APPS_APP_ID = "2793995e-0a7d-40d7-bd35-6968ba142197"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
REGISTER_SECURITY_INFO = "urn:user:registersecurityinfo"
REGISTER_DEVICE = "urn:user:registerdevice"

#: Graph's built-in authentication strengths: id → (requirement detail, display name).
AUTHENTICATION_STRENGTHS = {
    "00000000-0000-0000-0000-000000000002": ("mfa", "Multifactor authentication"),
    "00000000-0000-0000-0000-000000000003": ("passwordless", "Passwordless MFA"),
    "00000000-0000-0000-0000-000000000004": ("phishingResistant", "Phishing-resistant MFA"),
}

GUEST_TYPES = ("internalGuest", "b2bCollaborationGuest", "b2bCollaborationMember", "b2bDirectConnectUser",
               "otherExternalUser", "serviceProvider")
PLATFORMS = ("android", "iOS", "windows", "windowsPhone", "macOS", "linux", "all")
CLIENT_APP_TYPES = ("all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "easSupported", "other")
#: What this deployment can require. Graph's other built-in controls need device management or app
#: protection, which does not exist here: refused, never silently ignored.
BUILT_IN_CONTROLS = ("block", "mfa")
GRAPH_ONLY_CONTROLS = ("compliantDevice", "domainJoinedDevice", "approvedApplication", "compliantApplication",
                       "passwordChange", "riskRemediation")
ROLE_IDS = frozenset(Role.values)


class PolicyInvalid(ValidationError):
    """A policy or named location Graph would refuse; the message is Graph's wording."""


def _schema_error(detail: str) -> PolicyInvalid:
    return PolicyInvalid("1007: Incoming ConditionalAccessPolicy object is null or does not match the schema of "
                         f"ConditionalAccessPolicy type. {detail}")


def _rule_error(reason: str, detail: str) -> PolicyInvalid:
    return PolicyInvalid(f"1032: ConditionalAccessPolicy validation failed due to {reason}. {detail}")


def _strings(container: dict, key: str, where: str) -> list[str]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _schema_error(f"{where}.{key} must be a list of strings.")
    if len(value) > 2000:
        raise _schema_error(f"{where}.{key} holds more than 2000 values.")
    seen: list[str] = []
    for v in value:
        if v not in seen:
            seen.append(v)
    return seen


def _object(container: dict, key: str, where: str) -> dict:
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _schema_error(f"{where}.{key} must be an object.")
    return value


def _known_keys(obj: dict, allowed: set[str], where: str) -> None:
    for key in obj:
        if key.startswith("@odata."):
            continue
        if key not in allowed:
            raise _schema_error(f"{where}.{key[:60]} is not supported in this deployment.")


def _guid(value: str, where: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise _schema_error(f"{where}: '{str(value)[:60]}' is not a valid id.") from None


def _ids(values: list[str], sentinels: tuple[str, ...], where: str) -> list[str]:
    return [v if v in sentinels else _guid(v, where) for v in values]


def _guests(value: dict | None, where: str, refs_tenants: set[str]) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _schema_error(f"{where} must be an object.")
    _known_keys(value, {"guestOrExternalUserTypes", "externalTenants"}, where)
    raw = value.get("guestOrExternalUserTypes")
    if not isinstance(raw, str) or not raw.strip():
        raise _schema_error(f"{where}.guestOrExternalUserTypes is required.")
    types = [t.strip() for t in raw.split(",") if t.strip()]
    unknown = [t for t in types if t not in (*GUEST_TYPES, "none", "unknownFutureValue")]
    if unknown:
        raise _schema_error(f"{where}.guestOrExternalUserTypes: '{unknown[0][:40]}' is not a value of "
                            "conditionalAccessGuestOrExternalUserTypes.")
    types = [t for t in GUEST_TYPES if t in types]
    tenants = value.get("externalTenants") or {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants",
                                                 "membershipKind": "all"}
    if not isinstance(tenants, dict):
        raise _schema_error(f"{where}.externalTenants must be an object.")
    kind = tenants.get("membershipKind") or ("enumerated" if "members" in tenants else "all")
    if kind == "all":
        tenants = {"@odata.type": "#microsoft.graph.conditionalAccessAllExternalTenants", "membershipKind": "all"}
    elif kind == "enumerated":
        members = _ids(_strings(tenants, "members", f"{where}.externalTenants"), (), f"{where}.externalTenants")
        if not members:
            raise _rule_error("InvalidExternalTenants", "An enumerated list of external tenants needs at least one "
                              "tenant id.")
        refs_tenants.update(members)
        tenants = {"@odata.type": "#microsoft.graph.conditionalAccessEnumeratedExternalTenants",
                   "membershipKind": "enumerated", "members": members}
    else:
        raise _schema_error(f"{where}.externalTenants.membershipKind must be all or enumerated.")
    return {"guestOrExternalUserTypes": ",".join(types) or "none", "externalTenants": tenants}


def normalize_conditions(data) -> tuple[dict, dict[str, set[str]]]:
    """Graph's ``conditionalAccessConditionSet``, checked and with its defaults, and the ids it names."""
    refs: dict[str, set[str]] = {k: set() for k in ("users", "groups", "applications", "locations", "tenants")}
    if not isinstance(data, dict):
        raise _schema_error("conditions must be an object.")
    _known_keys(data, {"users", "applications", "locations", "platforms", "clientAppTypes",
                       "userRiskLevels", "signInRiskLevels", "servicePrincipalRiskLevels"}, "conditions")
    for risk in ("userRiskLevels", "signInRiskLevels", "servicePrincipalRiskLevels"):
        if _strings(data, risk, "conditions"):
            raise _rule_error("UnsupportedCondition", f"conditions.{risk}: risk detection does not exist in this "
                              "deployment.")

    users = _object(data, "users", "conditions")
    _known_keys(users, {"includeUsers", "excludeUsers", "includeGroups", "excludeGroups", "includeRoles",
                        "excludeRoles", "includeGuestsOrExternalUsers", "excludeGuestsOrExternalUsers"},
                "conditions.users")
    include_users = _ids(_strings(users, "includeUsers", "conditions.users"), ("All", "None", "GuestsOrExternalUsers"),
                         "conditions.users.includeUsers")
    exclude_users = _ids(_strings(users, "excludeUsers", "conditions.users"), ("GuestsOrExternalUsers",),
                         "conditions.users.excludeUsers")
    if len([u for u in include_users if u in ("All", "None")]) and len(include_users) > 1:
        raise _rule_error("InvalidConditionsUsers", "includeUsers 'All' or 'None' cannot be combined with other "
                          "users.")
    include_groups = _ids(_strings(users, "includeGroups", "conditions.users"), (), "conditions.users.includeGroups")
    exclude_groups = _ids(_strings(users, "excludeGroups", "conditions.users"), (), "conditions.users.excludeGroups")
    include_roles = _ids(_strings(users, "includeRoles", "conditions.users"), (), "conditions.users.includeRoles")
    exclude_roles = _ids(_strings(users, "excludeRoles", "conditions.users"), (), "conditions.users.excludeRoles")
    for role in include_roles + exclude_roles:
        if role not in ROLE_IDS:
            raise _rule_error("InvalidConditionsUsers", f"'{role}' is not a directory role template id of this "
                              "deployment.")
    include_guests = _guests(users.get("includeGuestsOrExternalUsers"),
                             "conditions.users.includeGuestsOrExternalUsers", refs["tenants"])
    exclude_guests = _guests(users.get("excludeGuestsOrExternalUsers"),
                             "conditions.users.excludeGuestsOrExternalUsers", refs["tenants"])
    if not (include_users or include_groups or include_roles or include_guests):
        raise _rule_error("InvalidConditionsUsers", "conditions.users must include users, groups, roles or guests "
                          "(use includeUsers ['None'] for nobody).")
    refs["users"].update(u for u in include_users + exclude_users if u not in ("All", "None", "GuestsOrExternalUsers"))
    refs["groups"].update(include_groups + exclude_groups)

    apps = _object(data, "applications", "conditions")
    _known_keys(apps, {"includeApplications", "excludeApplications", "includeUserActions",
                       "includeAuthenticationContextClassReferences"}, "conditions.applications")
    app_sentinels = ("All", "None", ADMIN_PORTALS, "Office365")
    include_apps = _ids(_strings(apps, "includeApplications", "conditions.applications"), app_sentinels,
                        "conditions.applications.includeApplications")
    exclude_apps = _ids(_strings(apps, "excludeApplications", "conditions.applications"), app_sentinels,
                        "conditions.applications.excludeApplications")
    if "Office365" in include_apps + exclude_apps:
        raise _rule_error("InvalidConditionsApplications", "Office365 does not exist in this deployment.")
    actions = _strings(apps, "includeUserActions", "conditions.applications")
    for action in actions:
        if action not in (REGISTER_SECURITY_INFO, REGISTER_DEVICE):
            raise _rule_error("InvalidConditionsApplications", f"The user action '{action[:60]}' is not supported.")
    if REGISTER_DEVICE in actions:
        raise _rule_error("InvalidConditionsApplications", "Devices are not registered in this deployment.")
    if _strings(apps, "includeAuthenticationContextClassReferences", "conditions.applications"):
        raise _rule_error("InvalidConditionsApplications", "Authentication contexts are not supported.")
    if actions and (include_apps or exclude_apps):
        raise _rule_error("InvalidConditionsApplications", "A policy targets either applications or user actions, "
                          "not both.")
    if not actions and not include_apps:
        raise _rule_error("InvalidConditionsApplications", "conditions.applications must include applications or a "
                          "user action.")
    refs["applications"].update(a for a in include_apps + exclude_apps
                                if a not in app_sentinels and a not in (ADMIN_PORTAL_APP_ID, MY_APPS_APP_ID,
                                                                         GRAPH_APP_ID))

    locations_in = _object(data, "locations", "conditions")
    _known_keys(locations_in, {"includeLocations", "excludeLocations"}, "conditions.locations")
    include_locations = _ids(_strings(locations_in, "includeLocations", "conditions.locations"), ("All", "AllTrusted"),
                             "conditions.locations.includeLocations")
    exclude_locations = _ids(_strings(locations_in, "excludeLocations", "conditions.locations"),
                             ("AllTrusted",), "conditions.locations.excludeLocations")
    if exclude_locations and not include_locations:
        raise _rule_error("InvalidConditionsLocations", "excludeLocations needs includeLocations.")
    refs["locations"].update(x for x in include_locations + exclude_locations if x not in ("All", "AllTrusted"))

    platforms_in = _object(data, "platforms", "conditions")
    _known_keys(platforms_in, {"includePlatforms", "excludePlatforms"}, "conditions.platforms")
    include_platforms = _strings(platforms_in, "includePlatforms", "conditions.platforms")
    exclude_platforms = _strings(platforms_in, "excludePlatforms", "conditions.platforms")
    for p in include_platforms + exclude_platforms:
        if p not in PLATFORMS and p != "unknownFutureValue":
            raise _schema_error(f"conditions.platforms: '{p[:40]}' is not a value of conditionalAccessDevicePlatform.")
    if exclude_platforms and not include_platforms:
        raise _rule_error("InvalidConditionsPlatforms", "excludePlatforms needs includePlatforms.")

    client_types = _strings(data, "clientAppTypes", "conditions")
    for c in client_types:
        if c not in CLIENT_APP_TYPES and c != "unknownFutureValue":
            raise _schema_error(f"conditions.clientAppTypes: '{c[:40]}' is not a value of "
                                "conditionalAccessClientApp.")

    normalized = {
        "users": {"includeUsers": include_users, "excludeUsers": exclude_users, "includeGroups": include_groups,
                  "excludeGroups": exclude_groups, "includeRoles": include_roles, "excludeRoles": exclude_roles,
                  "includeGuestsOrExternalUsers": include_guests, "excludeGuestsOrExternalUsers": exclude_guests},
        "applications": {"includeApplications": include_apps, "excludeApplications": exclude_apps,
                         "includeUserActions": actions, "includeAuthenticationContextClassReferences": []},
        "locations": ({"includeLocations": include_locations, "excludeLocations": exclude_locations}
                      if include_locations else None),
        "platforms": ({"includePlatforms": include_platforms, "excludePlatforms": exclude_platforms}
                      if include_platforms else None),
        "clientAppTypes": client_types or ["all"],
        "userRiskLevels": [], "signInRiskLevels": [], "servicePrincipalRiskLevels": [],
    }
    return normalized, refs


def normalize_grant_controls(data) -> tuple[dict | None, set[str]]:
    """Graph's ``conditionalAccessGrantControls`` and the terms of use it names."""
    if data is None:
        return None, set()
    if not isinstance(data, dict):
        raise _schema_error("grantControls must be an object.")
    _known_keys(data, {"operator", "builtInControls", "termsOfUse", "customAuthenticationFactors",
                       "authenticationStrength", "authenticationStrength@odata.context"}, "grantControls")
    operator = data.get("operator") or "OR"
    if operator not in ("AND", "OR"):
        raise _schema_error("grantControls.operator must be AND or OR.")
    controls = _strings(data, "builtInControls", "grantControls")
    for c in controls:
        if c in GRAPH_ONLY_CONTROLS:
            raise _rule_error("UnsupportedGrantControl", f"'{c}' needs device or app management, which this "
                              "deployment does not have.")
        if c not in BUILT_IN_CONTROLS:
            raise _schema_error(f"grantControls.builtInControls: '{c[:40]}' is not a value of "
                                "conditionalAccessGrantControl.")
    if _strings(data, "customAuthenticationFactors", "grantControls"):
        raise _rule_error("UnsupportedGrantControl", "Custom controls are not supported.")
    terms = _ids(_strings(data, "termsOfUse", "grantControls"), (), "grantControls.termsOfUse")
    strength = data.get("authenticationStrength")
    strength_id = None
    if strength is not None:
        if not isinstance(strength, dict) or not isinstance(strength.get("id"), str):
            raise _schema_error("grantControls.authenticationStrength must be an object with an id.")
        strength_id = strength["id"].lower()
        if strength_id not in AUTHENTICATION_STRENGTHS:
            raise _rule_error("InvalidAuthenticationStrength", "Only the built-in authentication strengths "
                              "(multifactor, passwordless, phishing-resistant) exist in this deployment.")
    if "block" in controls and (len(controls) > 1 or terms or strength_id):
        raise _rule_error("InvalidBlockControl", "Block access cannot be combined with other grant controls.")
    if "mfa" in controls and strength_id:
        raise _rule_error("InvalidAuthenticationStrength", "Require multifactor authentication and require "
                          "authentication strength cannot be used together.")
    if not (controls or terms or strength_id):
        raise _rule_error("InvalidGrantControls", "grantControls must name at least one control.")
    normalized = {
        "operator": operator, "builtInControls": controls, "customAuthenticationFactors": [], "termsOfUse": terms,
        "authenticationStrength": ({"id": strength_id, "displayName": AUTHENTICATION_STRENGTHS[strength_id][1]}
                                   if strength_id else None),
    }
    return normalized, set(terms)


def normalize_session_controls(data) -> dict | None:
    """Graph's ``conditionalAccessSessionControls``: sign-in frequency only."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _schema_error("sessionControls must be an object.")
    _known_keys(data, {"signInFrequency", "disableResilienceDefaults"}, "sessionControls")
    frequency = data.get("signInFrequency")
    if frequency is None:
        return None
    if not isinstance(frequency, dict):
        raise _schema_error("sessionControls.signInFrequency must be an object.")
    _known_keys(frequency, {"value", "type", "isEnabled", "frequencyInterval", "authenticationType"},
                "sessionControls.signInFrequency")
    if frequency.get("isEnabled") is False:
        return None
    interval = frequency.get("frequencyInterval") or "timeBased"
    if interval not in ("timeBased", "everyTime"):
        raise _schema_error("signInFrequency.frequencyInterval must be timeBased or everyTime.")
    auth_type = frequency.get("authenticationType") or "primaryAndSecondaryAuthentication"
    if auth_type not in ("primaryAndSecondaryAuthentication", "secondaryAuthentication"):
        raise _schema_error("signInFrequency.authenticationType must be primaryAndSecondaryAuthentication or "
                            "secondaryAuthentication.")
    if interval == "everyTime":
        value, unit = None, None
    else:
        value, unit = frequency.get("value"), frequency.get("type")
        if unit not in ("hours", "days"):
            raise _rule_error("InvalidSignInFrequency", "signInFrequency.type must be hours or days.")
        limit = 24 if unit == "hours" else 365
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
            raise _rule_error("InvalidSignInFrequency", f"signInFrequency.value must be 1 to {limit} {unit}.")
    return {"signInFrequency": {"value": value, "type": unit, "isEnabled": True, "frequencyInterval": interval,
                                "authenticationType": auth_type}}


def sign_in_frequency_seconds(session_controls: dict | None) -> int | None:
    """The window a policy's sign-in frequency allows, in seconds (0: every time), or None."""
    frequency = (session_controls or {}).get("signInFrequency")
    if not frequency:
        return None
    if frequency["frequencyInterval"] == "everyTime":
        return 0
    return frequency["value"] * (3600 if frequency["type"] == "hours" else 86400)


# --- named locations -------------------------------------------------------------------------------


def normalize_ip_ranges(value) -> list[str]:
    """Graph's ``ipRanges`` ([{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": …}]) or plain
    CIDR strings, as canonical CIDR strings. Entra: the mask must be longer than /8; at most 2000 ranges."""
    if not isinstance(value, list) or not value:
        raise PolicyInvalid("ipRanges must list at least one CIDR range.")
    if len(value) > 2000:
        raise PolicyInvalid("A named location holds at most 2000 IP ranges.")
    ranges: list[str] = []
    for item in value:
        text = item.get("cidrAddress") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise PolicyInvalid("Each IP range needs a cidrAddress.")
        try:
            network = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise PolicyInvalid(f"'{text[:60]}' is not a valid CIDR range.") from None
        if "/" not in text:
            raise PolicyInvalid(f"'{text[:60]}' needs a prefix length, e.g. {text.strip()}/32.")
        if network.prefixlen <= 8:
            raise PolicyInvalid(f"'{text[:60]}': the network mask must be longer than /8.")
        if str(network) not in ranges:
            ranges.append(str(network))
    return ranges


def normalize_countries(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise PolicyInvalid("countriesAndRegions must be a list of two-letter country codes.")
    countries = sorted({c.strip().upper() for c in value})
    for c in countries:
        if len(c) != 2 or not c.isalpha() or not c.isascii():
            raise PolicyInvalid(f"'{c[:10]}' is not an ISO 3166-1 alpha-2 country code.")
    return countries


def cidr_range_graph(cidr: str) -> dict:
    kind = "iPv6CidrRange" if ":" in cidr else "iPv4CidrRange"
    return {"@odata.type": f"#microsoft.graph.{kind}", "cidrAddress": cidr}
