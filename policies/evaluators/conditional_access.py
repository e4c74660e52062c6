"""Conditional access, decided: which policies apply to a sign-in, and what it must still satisfy.

:func:`evaluate_conditional_access` is pure: it is handed compiled policies, compiled named locations and
a :class:`SignInContext` (who, where to, from where, with what, what the session already met) and
returns the directory's :class:`~directory.access.AccessDecision`, with one
:class:`~directory.access.PolicyResult` per policy. The adapter in ``policies.access`` gathers the
context for real sign-ins; What If (admin page and ``POST /identity/conditionalAccess/evaluate``) builds
one from the admin's answers and calls the same function.

Entra's rules followed here (entra-behaviours.md §B):

- assignments (users, target resources, locations, platforms, client apps) are ANDed; within each,
  exclude wins over include; a condition the sign-in does not say anything about (unknown platform,
  unknown IP) matches only "all"/"any";
- every applicable enabled policy must be satisfied: **block** wins; otherwise the grant controls
  are asked in Entra's order (MFA, authentication strength, terms of use); "require all" (AND)
  asks for every unmet control, "require one" (OR) is met by any and asks for the first;
- report-only policies are evaluated and reported (``reportOnlySuccess``/``Failure``/``Interrupted``/
  ``NotApplied``) but never block or require anything; disabled ones are ``notEnabled``;
- sign-in frequency: a control met longer ago than the policy's window (every time: 5 minutes' skew)
  counts as unmet and is asked again.

A policy that does not apply carries, in ``reasons``, the first condition that failed, named as Graph's
``whatIfAnalysisReasons`` (users, application, userActions, location, devicePlatform, clientApps).
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from directory.access import (
    APP,
    CONSOLE,
    PANEL,
    REGISTER_SECURITY_INFO,
    TOKEN,
    AccessDecision,
    PolicyResult,
)

from ..conditional_access import (
    ADMIN_PORTAL_APP_ID,
    ADMIN_PORTALS,
    AUTHENTICATION_STRENGTHS,
    GRAPH_APP_ID,
    MY_APPS_APP_ID,
    sign_in_frequency_seconds,
)

EVERY_TIME_SKEW = 300  # Entra: "every time" tolerates five minutes of clock skew
ENABLED, DISABLED, REPORT_ONLY = "enabled", "disabled", "enabledForReportingButNotEnforced"
#: How strong each authentication strength is; a stronger one met satisfies a weaker one asked.
_STRENGTH_RANK = {"mfa": 1, "passwordless": 2, "phishingResistant": 3}


@dataclass(frozen=True)
class CompiledLocation:
    id: str
    display_name: str
    is_ip: bool
    is_trusted: bool = False
    #: {IP version: (sorted range starts, their ends)} as integers: one bisect per version, however many ranges.
    ranges: dict = field(default_factory=dict)
    countries: frozenset[str] = frozenset()
    include_unknown: bool = False

    def matches(self, ip, country: str | None) -> bool:
        if self.is_ip:
            if ip is None or ip.version not in self.ranges:
                return False
            starts, ends = self.ranges[ip.version]
            value = int(ip)
            index = bisect.bisect_right(starts, value) - 1
            return index >= 0 and value <= ends[index]
        if country is None:
            return self.include_unknown
        return country in self.countries


def _merged_ranges(networks) -> dict:
    """Networks as {version: (starts, ends)}, overlapping ranges merged, sorted by start."""
    by_version: dict[int, list[list[int]]] = {}
    for network in sorted(networks, key=lambda n: (n.version, int(n.network_address))):
        start, end = int(network.network_address), int(network.broadcast_address)
        spans = by_version.setdefault(network.version, [])
        if spans and start <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return {v: (tuple(s for s, _e in spans), tuple(e for _s, e in spans)) for v, spans in by_version.items()}


@dataclass(frozen=True)
class CompiledPolicy:
    """A policy as sets, made once per change (``compile_policy``) and kept in the per-tenant cache."""

    id: str
    display_name: str
    state: str
    include_all_users: bool
    include_none: bool
    include_users: frozenset[str]
    exclude_users: frozenset[str]
    include_groups: frozenset[str]
    exclude_groups: frozenset[str]
    include_roles: frozenset[str]
    exclude_roles: frozenset[str]
    include_guests: tuple | None  # (frozenset of types, None for all tenants or frozenset of tenant ids)
    exclude_guests: tuple | None
    include_apps: frozenset[str]
    exclude_apps: frozenset[str]
    user_actions: frozenset[str]
    include_locations: frozenset[str] | None  # None: no location condition
    exclude_locations: frozenset[str]
    include_platforms: frozenset[str] | None
    exclude_platforms: frozenset[str]
    client_app_types: frozenset[str]
    block: bool
    operator: str
    controls: tuple[str, ...]  # requirement strings in Entra's prompt order
    control_names: tuple[str, ...]  # Graph's enforcedGrantControls names
    frequency: int | None  # seconds (0: every time), None: no sign-in frequency
    uses_groups: bool = False
    uses_roles: bool = False
    uses_external_tenants: bool = False


@dataclass(frozen=True)
class SignInContext:
    """What one sign-in (or What If question) says about itself."""

    user_id: str | None = None
    guest_type: str | None = None  # one of GUEST_TYPES; None: an internal member
    external_tenant_id: str | None = None  # the guest's home tenant, when known
    group_ids: frozenset[str] = frozenset()
    role_ids: frozenset[str] = frozenset()
    resource: str = PANEL
    application_id: str | None = None  # the app's appId (resource APP or TOKEN)
    ip: object = None  # ipaddress address or None (unknown)
    country: str | None = None  # ISO 3166-1 alpha-2, None: unknown
    platform: str | None = None  # android, iOS, windows, windowsPhone, macOS, linux; None: unknown
    client_app_type: str = "browser"
    satisfied_at: Mapping[str, float] = field(default_factory=dict)
    now: float = 0.0


def _guests(value) -> tuple | None:
    if not value:
        return None
    types = frozenset(t for t in value["guestOrExternalUserTypes"].split(",") if t and t != "none")
    tenants = value.get("externalTenants") or {}
    members = None if tenants.get("membershipKind", "all") == "all" else frozenset(tenants.get("members", ()))
    return types, members


def compile_policy(policy) -> CompiledPolicy:
    """A ConditionalAccessPolicy (or anything with its attributes) as a CompiledPolicy."""
    conditions = policy.conditions or {}
    users = conditions.get("users") or {}
    apps = conditions.get("applications") or {}
    locations = conditions.get("locations") or None
    platforms = conditions.get("platforms") or None
    grant = policy.grant_controls or {}
    built_in = grant.get("builtInControls") or []
    controls: list[str] = []
    names: list[str] = []
    if "mfa" in built_in:
        controls.append("mfa")
        names.append("Mfa")
    strength = (grant.get("authenticationStrength") or {}).get("id")
    if strength:
        controls.append(f"authenticationStrength:{AUTHENTICATION_STRENGTHS[strength][0]}")
        names.append("RequireAuthenticationStrength")
    for agreement in grant.get("termsOfUse") or []:
        controls.append(f"termsOfUse:{agreement}")
        names.append(agreement)
    include_users = users.get("includeUsers") or []
    include_guests = _guests(users.get("includeGuestsOrExternalUsers"))
    exclude_guests = _guests(users.get("excludeGuestsOrExternalUsers"))
    include_apps = frozenset(apps.get("includeApplications") or ())
    exclude_apps = frozenset(apps.get("excludeApplications") or ())
    return CompiledPolicy(
        id=str(policy.id), display_name=policy.display_name, state=policy.state,
        include_all_users="All" in include_users, include_none="None" in include_users,
        include_users=frozenset(include_users) - {"All", "None"},
        exclude_users=frozenset(users.get("excludeUsers") or ()),
        include_groups=frozenset(users.get("includeGroups") or ()),
        exclude_groups=frozenset(users.get("excludeGroups") or ()),
        include_roles=frozenset(users.get("includeRoles") or ()),
        exclude_roles=frozenset(users.get("excludeRoles") or ()),
        include_guests=include_guests, exclude_guests=exclude_guests,
        include_apps=include_apps, exclude_apps=exclude_apps,
        user_actions=frozenset(apps.get("includeUserActions") or ()),
        include_locations=frozenset(locations["includeLocations"]) if locations else None,
        exclude_locations=frozenset(locations.get("excludeLocations") or ()) if locations else frozenset(),
        include_platforms=frozenset(platforms["includePlatforms"]) if platforms else None,
        exclude_platforms=frozenset(platforms.get("excludePlatforms") or ()) if platforms else frozenset(),
        client_app_types=frozenset(conditions.get("clientAppTypes") or ("all",)),
        block="block" in built_in, operator=grant.get("operator") or "OR",
        controls=tuple(controls), control_names=tuple(names),
        frequency=sign_in_frequency_seconds(policy.session_controls),
        uses_groups=bool(users.get("includeGroups") or users.get("excludeGroups")),
        uses_roles=bool(users.get("includeRoles") or users.get("excludeRoles")),
        uses_external_tenants=any(g is not None and g[1] is not None for g in (include_guests, exclude_guests)),
    )


def compile_location(location) -> CompiledLocation:
    if location.kind == "ip":
        return CompiledLocation(id=str(location.id), display_name=location.display_name, is_ip=True,
                                is_trusted=location.is_trusted,
                                ranges=_merged_ranges(ipaddress.ip_network(r) for r in location.ip_ranges))
    return CompiledLocation(id=str(location.id), display_name=location.display_name, is_ip=False,
                            countries=frozenset(location.countries_and_regions),
                            include_unknown=location.include_unknown_countries_and_regions)


_PLATFORM_PATTERNS = (
    ("windowsPhone", re.compile(r"Windows Phone|IEMobile", re.I)),
    ("android", re.compile(r"Android", re.I)),
    ("iOS", re.compile(r"iPhone|iPad|iPod|\biOS\b|CFNetwork", re.I)),
    ("windows", re.compile(r"Windows", re.I)),
    ("macOS", re.compile(r"Macintosh|Mac OS X|macOS", re.I)),
    ("linux", re.compile(r"Linux|X11|CrOS", re.I)),
)


def platform_from_user_agent(user_agent: str) -> str | None:
    """Graph's device platform from a User-Agent header, None when it names none (Entra: unknown platforms
    match only "any device")."""
    for name, pattern in _PLATFORM_PATTERNS:
        if pattern.search(user_agent or ""):
            return name
    return None


def _in_guests(spec: tuple | None, context: SignInContext) -> bool:
    if spec is None or context.guest_type is None:
        return False
    types, tenants = spec
    if context.guest_type not in types:
        return False
    return tenants is None or (context.external_tenant_id is not None and context.external_tenant_id in tenants)


def _users_match(p: CompiledPolicy, c: SignInContext) -> bool:
    if p.include_none:
        return False
    uid = c.user_id
    included = (
        p.include_all_users
        or (uid is not None and uid in p.include_users)
        or ("GuestsOrExternalUsers" in p.include_users and c.guest_type is not None)
        or bool(p.include_groups & c.group_ids)
        or bool(p.include_roles & c.role_ids)
        or _in_guests(p.include_guests, c)
    )
    if not included:
        return False
    excluded = (
        (uid is not None and uid in p.exclude_users)
        or ("GuestsOrExternalUsers" in p.exclude_users and c.guest_type is not None)
        or bool(p.exclude_groups & c.group_ids)
        or bool(p.exclude_roles & c.role_ids)
        or _in_guests(p.exclude_guests, c)
    )
    return not excluded


def resource_app_ids(context: SignInContext) -> frozenset[str]:
    """The app ids a request's target resource counts as."""
    if context.resource == PANEL:
        return frozenset({MY_APPS_APP_ID})
    if context.resource == CONSOLE:
        return frozenset({ADMIN_PORTALS, ADMIN_PORTAL_APP_ID})
    if context.resource == TOKEN:
        return frozenset({GRAPH_APP_ID} | ({context.application_id} if context.application_id else set()))
    if context.resource == APP and context.application_id:
        return frozenset({context.application_id})
    return frozenset()


def _apps_match(p: CompiledPolicy, c: SignInContext, targets: frozenset[str]) -> str | None:
    """None when the policy's target resources cover the request; else the what-if reason."""
    if c.resource == REGISTER_SECURITY_INFO:
        return None if "urn:user:registersecurityinfo" in p.user_actions else "userActions"
    if p.user_actions:
        return "userActions"
    if "None" in p.include_apps:
        return "application"
    if not ("All" in p.include_apps or p.include_apps & targets):
        return "application"
    if p.exclude_apps & targets:
        return "application"
    return None


def _locations_match(p: CompiledPolicy, matched: frozenset[str], trusted: bool) -> bool:
    if p.include_locations is None:
        return True

    def hits(names: frozenset[str]) -> bool:
        return "All" in names or ("AllTrusted" in names and trusted) or bool(names & matched)

    return hits(p.include_locations) and not (p.exclude_locations and hits(p.exclude_locations - {"All"}))


def _platforms_match(p: CompiledPolicy, platform: str | None) -> bool:
    if p.include_platforms is None:
        return True
    included = "all" in p.include_platforms or (platform is not None and platform in p.include_platforms)
    excluded = platform is not None and platform in p.exclude_platforms
    return included and not excluded


def _met(requirement: str, c: SignInContext, window: int | None) -> bool:
    """Has the session met ``requirement`` (recently enough for ``window``)? A stronger authentication
    meets a weaker one asked for (an authentication strength meets "mfa")."""
    def fresh(key: str) -> bool:
        at = c.satisfied_at.get(key)
        if at is None:
            return False
        if window is None:
            return True
        return c.now - at <= (window or EVERY_TIME_SKEW)

    if fresh(requirement):
        return True
    kind, _sep, detail = requirement.partition(":")
    if kind == "mfa":
        return any(fresh(k) for k in c.satisfied_at if k.startswith("authenticationStrength:"))
    if kind == "authenticationStrength":
        wanted = _STRENGTH_RANK.get(detail, 99)
        return any(fresh(k) for k in c.satisfied_at
                   if k.startswith("authenticationStrength:")
                   and _STRENGTH_RANK.get(k.partition(":")[2], 0) >= wanted) or (wanted == 1 and fresh("mfa"))
    return False


def _unmet(p: CompiledPolicy, c: SignInContext) -> tuple[str, ...]:
    if not p.controls:
        # A policy with only a sign-in frequency: the sign-in itself ages ("signIn", recorded by the enforcer).
        if p.frequency is not None and "signIn" in c.satisfied_at and not _met("signIn", c, p.frequency):
            return ("signInFrequency",)
        return ()
    # Sign-in frequency ages the authentication, not an accepted terms of use (its re-acceptance has its own
    # period, applied when acceptances are gathered).
    unmet = tuple(r for r in p.controls if not _met(r, c, None if r.startswith("termsOfUse:") else p.frequency))
    if p.operator == "OR" and len(unmet) < len(p.controls):
        return ()
    if p.operator == "OR":
        return unmet[:1]
    return unmet


class LocationIndex:
    """Every named location at once: which ones an address and a country fall in, with one bisect per IP
    version over the ranges of all IP locations (cut into elementary spans, each naming the locations
    covering it) and one dict lookup per country, instead of asking each location in turn."""

    def __init__(self, locations: Sequence[CompiledLocation]):
        self.trusted = frozenset(loc.id for loc in locations if loc.is_trusted)
        by_country: dict[str, set[str]] = {}
        unknown: set[str] = set()
        edges: dict[int, list[tuple[int, int, str]]] = {}
        for loc in locations:
            if loc.is_ip:
                for version, (starts, ends) in loc.ranges.items():
                    edges.setdefault(version, []).extend((s, e, loc.id) for s, e in zip(starts, ends, strict=True))
            else:
                for country in loc.countries:
                    by_country.setdefault(country, set()).add(loc.id)
                if loc.include_unknown:
                    unknown.add(loc.id)
        self.by_country = {k: frozenset(v) for k, v in by_country.items()}
        self.unknown = frozenset(unknown)
        # {version: (span starts, the frozenset of location ids covering each span)}
        self.spans: dict[int, tuple[list[int], list[frozenset]]] = {}
        for version, ranges in edges.items():  # a sweep over the ranges' starts and ends
            events: dict[int, list[tuple[int, str]]] = {}
            for start, end, loc_id in ranges:
                events.setdefault(start, []).append((1, loc_id))
                events.setdefault(end + 1, []).append((-1, loc_id))
            active: dict[str, int] = {}
            points, covering = [], []
            for point in sorted(events):
                for delta, loc_id in events[point]:
                    active[loc_id] = active.get(loc_id, 0) + delta
                    if not active[loc_id]:
                        del active[loc_id]
                points.append(point)
                covering.append(frozenset(active))
            self.spans[version] = (points, covering)

    def matched(self, ip, country: str | None) -> frozenset[str]:
        found = self.unknown if country is None else self.by_country.get(country, frozenset())
        if ip is not None and ip.version in self.spans:
            points, covering = self.spans[ip.version]
            index = bisect.bisect_right(points, int(ip)) - 1
            if index >= 0 and covering[index]:
                found = found | covering[index]
        return found


class PolicyIndex:
    """The policies a sign-in can possibly concern, found from who signs in: those for all users, for
    guests (when a guest signs in), for the user, for one of the user's groups or roles. Every other
    enabled policy is "notApplied" for the reason "users" (a result made once here, not per decision);
    a disabled one "notEnabled". Built once per policy change, next to the compiled policies."""

    def __init__(self, policies: Sequence[CompiledPolicy]):
        self.always: set[int] = set()
        self.guests: set[int] = set()
        self.by_user: dict[str, set[int]] = {}
        self.by_group: dict[str, set[int]] = {}
        self.by_role: dict[str, set[int]] = {}
        self.fixed: list[PolicyResult | None] = []
        for i, p in enumerate(policies):
            report_only = p.state == REPORT_ONLY
            if p.state == DISABLED:
                self.fixed.append(PolicyResult(p.id, p.display_name, "notEnabled", reasons=("policyNotEnabled",)))
                continue
            self.fixed.append(PolicyResult(p.id, p.display_name, "reportOnlyNotApplied" if report_only else
                                           "notApplied", reasons=("users",)))
            if p.include_none:
                continue
            if p.include_all_users:
                self.always.add(i)
            if "GuestsOrExternalUsers" in p.include_users or p.include_guests is not None:
                self.guests.add(i)
            for uid in p.include_users:
                self.by_user.setdefault(uid, set()).add(i)
            for gid in p.include_groups:
                self.by_group.setdefault(gid, set()).add(i)
            for rid in p.include_roles:
                self.by_role.setdefault(rid, set()).add(i)

    def candidates(self, context: SignInContext) -> set[int]:
        found = set(self.always)
        if context.guest_type is not None:
            found |= self.guests
        if context.user_id is not None and context.user_id in self.by_user:
            found |= self.by_user[context.user_id]
        for gid in context.group_ids:
            if gid in self.by_group:
                found |= self.by_group[gid]
        for rid in context.role_ids:
            if rid in self.by_role:
                found |= self.by_role[rid]
        return found


def evaluate_conditional_access(policies: Sequence[CompiledPolicy], locations: Sequence[CompiledLocation],
                                context: SignInContext, *, index: PolicyIndex | None = None,
                                location_index: LocationIndex | None = None) -> AccessDecision:
    """Every policy's result for ``context`` and what the sign-in must still do. Pure.

    ``index`` and ``location_index`` (built once from the same ``policies`` and ``locations``) make it
    ask only the policies that can concern the sign-in; the answer is the same without them."""
    if location_index is not None:
        matched = location_index.matched(context.ip, context.country)
        trusted = bool(matched & location_index.trusted)
    else:
        matched = frozenset(loc.id for loc in locations if loc.matches(context.ip, context.country))
        trusted = any(loc.is_trusted and loc.id in matched for loc in locations)
    targets = resource_app_ids(context)
    results: list[PolicyResult] = []
    blocked = False
    reason = ""
    requirements: set[str] = set()
    candidates = index.candidates(context) if index is not None else None
    for i, p in enumerate(policies):
        if candidates is not None and i not in candidates:
            results.append(index.fixed[i])
            continue
        report_only = p.state == REPORT_ONLY
        if p.state == DISABLED:
            results.append(PolicyResult(p.id, p.display_name, "notEnabled", reasons=("policyNotEnabled",)))
            continue
        why = None
        if not _users_match(p, context):
            why = "users"
        else:
            why = _apps_match(p, context, targets)
            if why is None:
                if not _locations_match(p, matched, trusted):
                    why = "location"
                elif not _platforms_match(p, context.platform):
                    why = "devicePlatform"
                elif not ("all" in p.client_app_types or context.client_app_type in p.client_app_types):
                    why = "clientApps"
        if why is not None:
            results.append(PolicyResult(p.id, p.display_name, "reportOnlyNotApplied" if report_only else "notApplied",
                                        reasons=(why,)))
            continue
        session = ("SignInFrequency",) if p.frequency is not None else ()
        if p.block:
            results.append(PolicyResult(p.id, p.display_name, "reportOnlyFailure" if report_only else "failure",
                                        ("Block",), session))
            if not report_only:
                blocked = True
                reason = reason or _("Access is blocked by your organization's conditional access policy "
                                     "“%(name)s”.") % {"name": p.display_name}
            continue
        unmet = _unmet(p, context)
        if unmet:
            result = "reportOnlyInterrupted" if report_only else "failure"
            if not report_only:
                requirements.update(unmet)
        else:
            result = "reportOnlySuccess" if report_only else "success"
        results.append(PolicyResult(p.id, p.display_name, result, p.control_names, session, reasons=unmet))
    return AccessDecision(blocked=blocked, requirements=frozenset() if blocked else frozenset(requirements),
                          policy_results=tuple(results), reason=reason, country=context.country or "",
                          named_locations=tuple(sorted(matched)))
