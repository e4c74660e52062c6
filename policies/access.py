"""Conditional access as the directory's access evaluator (registered in ``PoliciesConfig.ready``).

The adapter gathers what :func:`policies.evaluators.evaluate_conditional_access` needs for a real
request: the tenant's compiled policies and named locations from a per-tenant cache, the user's groups,
roles and home tenant (one query, and only when some policy looks at them), the country of the client
IP (offline database, ``policies.geo``) and the platform from the User-Agent.

The cache: a version token per tenant in Django's cache (Redis in production, shared by every process)
and, per process, the compiled policies of the version last seen, whose token is checked at most once a
second. Every change to a policy, a named location or terms of use replaces the token once its
transaction commits (:func:`invalidate`), so each process reloads (two or three queries) on its next
check. With the policies come their indexes (``PolicyIndex``: which policies can concern a user;
``LocationIndex``: which named locations an address falls in), so a decision asks only the candidates.

The user's facts (groups, roles, home tenant) are kept per process too, under one shared generation
token that every membership, role or user change replaces once it commits (:func:`invalidate_facts`, from
the signals connected in :func:`connect_fact_signals`); the token is read with the tenant's policy version,
in the same cache round trip. A change made in this process is seen by the next decision; one made
elsewhere within the same check interval (1 s), as for the policies. A decision with both caches warm
makes no query and no cache read (bench/conditional_access.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from directory.access import AccessDecision, AccessRequest
from directory.models import Account, Group, RoleAssignment, Tenant, User
from directory.unavailable import CacheUnavailable

from .evaluators.conditional_access import (
    CompiledLocation,
    CompiledPolicy,
    LocationIndex,
    PolicyIndex,
    SignInContext,
    compile_location,
    compile_policy,
    evaluate_conditional_access,
    platform_from_user_agent,
)
from .geo import country_of
from .models import Agreement, AgreementAcceptance, ConditionalAccessPolicy, NamedLocation

VERSION_KEY = "ca:version:{}"
FACTS_KEY = "ca:facts:generation"
#: How many users' facts one process keeps.
FACTS_MAX = 20_000  # a few MB per process; the least recently used go first
_GROUP_MEMBERS = Group.members.through._meta.db_table
_ROLE_ASSIGNMENTS = RoleAssignment._meta.db_table
_USERS = User._meta.db_table


@dataclass(frozen=True)
class PolicySet:
    version: str
    policies: tuple[CompiledPolicy, ...]
    locations: tuple[CompiledLocation, ...]
    uses_groups: bool
    uses_roles: bool
    uses_external_tenants: bool
    agreements: dict  # {agreement id: (version, re-acceptance days or None)} of the live policies' terms of use
    checked_until: float = 0.0  # time.monotonic() until which this process trusts the version without asking
    facts_generation: str = ""  # the shared facts token as last read (see invalidate_facts)
    index: PolicyIndex | None = field(default=None, compare=False)
    location_index: LocationIndex | None = field(default=None, compare=False)


_local: dict[str, PolicySet] = {}
#: {user pk: (facts generation, group ids, role ids, home tenant id)}, least recently used first.
_facts: OrderedDict = OrderedDict()
_facts_lock = threading.Lock()
_facts_local_generation = [uuid.uuid4().hex]  # replaced at once by invalidate_facts in this process


def invalidate_facts() -> None:
    """Users' groups, roles or home tenants changed: forget every cached fact here at once, and
    everywhere once the current transaction commits (a new shared generation token)."""
    with _facts_lock:
        _facts.clear()
        _facts_local_generation[0] = uuid.uuid4().hex
    connection_ = transaction.get_connection()
    if connection_.in_atomic_block:
        # one new token per transaction, however many rows changed (a rollback drops it with the changes)
        if not any(entry[1] is _publish_facts_generation for entry in connection_.run_on_commit):
            transaction.on_commit(_publish_facts_generation)
    else:
        _publish_facts_generation()


def _publish_facts_generation() -> None:
    with _facts_lock:
        _facts.clear()
        _facts_local_generation[0] = uuid.uuid4().hex
    # With the cache down, tenant_policy_set makes every check a miss: facts are read afresh meanwhile.
    with contextlib.suppress(CacheUnavailable):
        cache.set(FACTS_KEY, uuid.uuid4().hex, timeout=None)


def invalidate(tenant_id) -> None:
    """Forget the tenant's compiled policies everywhere, once the current transaction commits."""
    key = VERSION_KEY.format(tenant_id)
    _local.pop(str(tenant_id), None)  # this process reloads at once (and again after the commit)
    transaction.on_commit(lambda: cache.set(key, uuid.uuid4().hex, timeout=None))


def _load(tenant_id, version: str) -> PolicySet:
    policies = tuple(compile_policy(p) for p in
                     ConditionalAccessPolicy.objects.filter(tenant_id=tenant_id).order_by("created_at", "id"))
    locations = tuple(compile_location(x) for x in NamedLocation.objects.filter(tenant_id=tenant_id))
    live = [p for p in policies if p.state != "disabled"]
    index, location_index = PolicyIndex(policies), LocationIndex(locations)
    terms = {c.partition(":")[2] for p in live for c in p.controls if c.startswith("termsOfUse:")}
    agreements = {str(pk): (version, days) for pk, version, days in Agreement.objects.filter(
        tenant_id=tenant_id, pk__in=terms).values_list("pk", "version", "user_reaccept_required_frequency_days")
    } if terms else {}
    return PolicySet(version, policies, locations, uses_groups=any(p.uses_groups for p in live),
                     uses_roles=any(p.uses_roles for p in live),
                     uses_external_tenants=any(p.uses_external_tenants for p in live), agreements=agreements,
                     index=index, location_index=location_index)


def tenant_policy_set(tenant_id) -> PolicySet:
    """The tenant's compiled policies and locations (queries only after a change).

    The shared version token is read at most once per ``CONDITIONAL_ACCESS_CACHE_CHECK_SECONDS`` (default
    1 s) per process and tenant: a change made in this process is seen at once (``invalidate`` drops the
    local copy), one made elsewhere within that second. Entra itself takes minutes; a cache round trip
    on every decision cost more than the decision (bench/conditional_access.py)."""
    now = time.monotonic()
    found = _local.get(str(tenant_id))
    if found is not None and now < found.checked_until:
        return found
    key = VERSION_KEY.format(tenant_id)
    until = now + getattr(settings, "CONDITIONAL_ACCESS_CACHE_CHECK_SECONDS", 1.0)
    try:
        shared = cache.get_many([key, FACTS_KEY])  # one round trip for both tokens
        version, facts_generation = shared.get(key), shared.get(FACTS_KEY)
        if version is None:
            version = uuid.uuid4().hex
            if not cache.add(key, version, timeout=None):
                version = cache.get(key) or version
        if facts_generation is None:
            facts_generation = uuid.uuid4().hex
            if not cache.add(FACTS_KEY, facts_generation, timeout=None):
                facts_generation = cache.get(FACTS_KEY) or facts_generation
    except CacheUnavailable:
        # The shared cache is down: decide on the database's policies and facts, read afresh for every
        # decision (never on a copy that may be stale, and never "no policies").
        version, facts_generation, until = uuid.uuid4().hex, uuid.uuid4().hex, now
    if found is None or found.version != version:
        found = _load(tenant_id, version)
    found = dataclasses.replace(found, checked_until=until, facts_generation=facts_generation)
    _local[str(tenant_id)] = found
    return found


def guest_type_of(user) -> str | None:
    """Graph's guestOrExternalUserType of a directory user; None for an internal member."""
    if user is None:
        return None
    invited = user.creation_type == User.CreationType.INVITATION or bool(user.external_user_state)
    if user.user_type == User.UserType.GUEST:
        return "b2bCollaborationGuest" if invited else "internalGuest"
    return "b2bCollaborationMember" if invited else None


def membership(user, *, groups: bool, roles: bool, home: bool) -> tuple[frozenset, frozenset, str | None]:
    """(group ids, role template ids, home tenant id) of ``user``, in one query (none when nothing is asked).

    Written as SQL on the models' tables: this runs on every entry into a tenant, and building the same
    UNION through the ORM cost ten times the query itself (bench/conditional_access.py)."""
    # Table names come from the models' Meta; every value is a parameter (hence the S608 waivers).
    parts, params = [], []
    pk = User._meta.pk.get_db_prep_value(user.pk, connection)
    if groups:
        parts.append(f"SELECT 'g', CAST(group_id AS varchar(40)) FROM {_GROUP_MEMBERS} WHERE user_id = %s")  # noqa: S608
        params.append(pk)
    if roles:
        parts.append(f"SELECT 'r', role FROM {_ROLE_ASSIGNMENTS} WHERE user_id = %s")  # noqa: S608
        params.append(pk)
    if home and user.account_id is not None:
        parts.append(f"SELECT 't', CAST(tenant_id AS varchar(40)) FROM {_USERS} WHERE account_id = %s AND "  # noqa: S608
                     "user_type = %s AND deleted_at IS NULL AND tenant_id <> %s AND creation_type <> %s")
        params += [Account._meta.pk.get_db_prep_value(user.account_id, connection), User.UserType.MEMBER,
                   Tenant._meta.pk.get_db_prep_value(user.tenant_id, connection), User.CreationType.INVITATION]
    if not parts:
        return frozenset(), frozenset(), None
    found: dict[str, set[str]] = {"g": set(), "r": set(), "t": set()}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for kind, value in cursor.fetchall():
            found[kind].add(_norm_uuid(value))
    return frozenset(found["g"]), frozenset(found["r"]), min(found["t"], default=None)


def cached_membership(user, policy_set: PolicySet, *, groups: bool, roles: bool, home: bool
                      ) -> tuple[frozenset, frozenset, str | None]:
    """:func:`membership`, kept per process while neither the shared facts generation (read with the
    policy version) nor this process's own (replaced at once by a local change) has moved."""
    if not (groups or roles or home):
        return frozenset(), frozenset(), None
    generation = f"{policy_set.facts_generation}:{_facts_local_generation[0]}"
    key = user.pk
    with _facts_lock:
        found = _facts.get(key)
        if found is not None and found[0] == generation:
            _facts.move_to_end(key)
            return found[1]
    # All of them in the one query, whatever this tenant's policies look at: the next change of policies
    # may look at another.
    facts = membership(user, groups=True, roles=True, home=True)
    with _facts_lock:
        if _facts_local_generation[0] == generation.rpartition(":")[2]:  # no change while we read
            _facts[key] = (generation, facts)
            if len(_facts) > FACTS_MAX:
                _facts.popitem(last=False)
    return facts


def accepted_terms(user, agreements: dict, now: float) -> dict[str, float]:
    """{"termsOfUse:<id>": when accepted} for the terms of use ``user`` has a valid acceptance of: the
    current version, accepted less than the agreement's re-acceptance days ago. One query."""
    found: dict[str, float] = {}
    rows = (AgreementAcceptance.objects.filter(user_id=user.pk, agreement_id__in=list(agreements),
                                               state=AgreementAcceptance.State.ACCEPTED)
            .order_by("agreement_id", "-recorded_at").values_list("agreement_id", "agreement_version", "recorded_at"))
    for agreement_id, version, recorded_at in rows:
        key = f"termsOfUse:{agreement_id}"
        current, days = agreements[str(agreement_id)]
        at = recorded_at.timestamp()
        if key in found or version != current or (days and now - at > days * 86400):
            continue
        found[key] = at
    return found


def _norm_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _ip(value):
    if value is None:
        return None
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


def context_for(request: AccessRequest, policy_set: PolicySet) -> SignInContext:
    user = request.user
    groups = roles = frozenset()
    home = None
    if user is not None and getattr(user, "pk", None) is not None:
        guest = guest_type_of(user) is not None
        groups, roles, home = cached_membership(user, policy_set, groups=policy_set.uses_groups,
                                                roles=policy_set.uses_roles,
                                                home=policy_set.uses_external_tenants and guest)
    application = request.application
    ip = _ip(request.ip)
    now = request.now.timestamp() if request.now is not None else time.time()
    satisfied = dict(request.satisfied_at or {r: now for r in request.satisfied})
    if policy_set.agreements and user is not None and getattr(user, "pk", None) is not None:
        for key, at in accepted_terms(user, policy_set.agreements, now).items():
            satisfied.setdefault(key, at)
    return SignInContext(
        user_id=str(user.pk) if user is not None else None,
        guest_type=guest_type_of(user), external_tenant_id=home, group_ids=groups, role_ids=roles,
        resource=request.resource,
        application_id=str(application.app_id) if application is not None else None,
        ip=ip, country=country_of(ip), platform=platform_from_user_agent(request.user_agent),
        client_app_type=request.client_app_type or "browser",
        satisfied_at=satisfied, now=now,
    )


def conditional_access_evaluator(request: AccessRequest) -> AccessDecision:
    """The directory's access evaluator for conditional access."""
    policy_set = tenant_policy_set(request.tenant.pk)
    if not policy_set.policies:
        return AccessDecision(country=country_of(_ip(request.ip)) or "")
    return evaluate_conditional_access(policy_set.policies, policy_set.locations, context_for(request, policy_set),
                                       index=policy_set.index, location_index=policy_set.location_index)


def _facts_changed(sender, **kwargs) -> None:
    if kwargs.get("raw"):
        return  # fixtures loading
    action = kwargs.get("action")
    if action is not None and not action.startswith("post_"):
        return  # m2m_changed: once, after the change
    invalidate_facts()


def connect_fact_signals() -> None:
    """A user's facts change with group memberships (added or removed: ``m2m_changed``; deleted with the
    group or the user; by set-based writes, which send no model signal for an auto-created table: their
    writers send ``directory.signals.memberships_changed``), role assignments and user rows (a member
    account elsewhere is a guest's home tenant)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from directory.signals import memberships_changed

    through = Group.members.through
    m2m_changed.connect(_facts_changed, sender=through, dispatch_uid="policies.facts.m2m")
    memberships_changed.connect(_facts_changed, dispatch_uid="policies.facts.set_based")
    for model in (through, RoleAssignment, User, Group):
        post_save.connect(_facts_changed, sender=model, dispatch_uid=f"policies.facts.save.{model._meta.label}")
        post_delete.connect(_facts_changed, sender=model, dispatch_uid=f"policies.facts.delete.{model._meta.label}")
