"""What entering a tenant, an app or the console must satisfy, and where the two sides meet (DESIGN §6).

The directory declares the question and the registries; higher apps answer and enforce through them
(DESIGN §3), so no path into a tenant can skip what they require:

- **Evaluators** (:func:`register_access_evaluator`): ``evaluator(AccessRequest) -> AccessDecision``.
  ``policies`` registers conditional access (and later cross-tenant access settings). Every
  evaluator's decision is merged by :func:`evaluate_access`: any block blocks, requirements add up,
  policy results are kept for the sign-in log.
- **Requirement handlers** (:func:`register_requirement_handler`): the page that lets a person meet a
  requirement of a kind (``"mfa"``: the MFA challenge, or registration when the person has no method;
  ``"termsOfUse"``: the agreement to accept). The handler records success with
  :func:`mark_satisfied`; the enforcer then asks again.

A requirement is a string ``"<kind>"`` or ``"<kind>:<detail>"``: ``"mfa"``,
``"authenticationStrength:phishingResistant"``, ``"termsOfUse:<agreement id>"``,
``"signInFrequency"``. What a session has met for a tenant is the same strings, kept in the session
with the time each was met (:func:`satisfied`), so sign-in frequency can age them out.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.urls import reverse

SESSION_KEY = "access.satisfied"

#: Where the request is going (Graph's "target resources" as this platform has them).
PANEL = "panel"  # the tenant's access panel
APP = "app"  # an application: launching it, or a token / ID token issued for it
CONSOLE = "console"  # this tenant in the admin console (Entra's "Microsoft Admin Portals")
REGISTER_SECURITY_INFO = "registerSecurityInfo"  # the user action
TOKEN = "token"  # a delegated token for the Graph API


@dataclass(frozen=True)
class AccessRequest:
    """Everything an evaluator may look at; built by the enforcer from the HTTP request or token call."""

    tenant: object  # directory.Tenant
    user: object | None  # the tenant's directory.User for the person (None: not in the tenant yet)
    account: object | None  # directory.Account
    resource: str = PANEL
    application: object | None = None  # directory.Application when resource is APP
    ip: str | None = None  # from directory.net.client_ip only (trusted proxies); None = unknown
    user_agent: str = ""
    client_app_type: str = "browser"  # Graph: browser | mobileAppsAndDesktopClients | other
    satisfied: frozenset[str] = frozenset()  # requirements this session met for this tenant
    satisfied_at: dict = field(default_factory=dict)  # requirement -> unix time it was met
    authentication_methods: frozenset[str] = frozenset()  # how the session signed in: password, code, ...
    now: datetime | None = None
    #: directory.federation.FederatedSignIn when the session signed in through an external identity
    #: provider (its issuer, the partner's tenant id and ``amr``); None otherwise.
    federation: object | None = None


@dataclass(frozen=True)
class PolicyResult:
    """One policy's outcome, as the sign-in log's ``appliedConditionalAccessPolicies`` entry."""

    id: str
    display_name: str
    result: str  # success | failure | notApplied | notEnabled | reportOnlySuccess | reportOnlyFailure |
    #              reportOnlyNotApplied | reportOnlyInterrupted
    enforced_grant_controls: tuple[str, ...] = ()
    enforced_session_controls: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()

    def as_graph(self) -> dict:
        return {"id": self.id, "displayName": self.display_name, "result": self.result,
                "enforcedGrantControls": list(self.enforced_grant_controls),
                "enforcedSessionControls": list(self.enforced_session_controls)}


@dataclass(frozen=True)
class AccessDecision:
    blocked: bool = False
    requirements: frozenset[str] = frozenset()  # unmet requirements, in no order
    policy_results: tuple[PolicyResult, ...] = ()
    reason: str = ""  # why it is blocked, for the person (translated by the evaluator)
    #: Where the sign-in came from, as the evaluator resolved it: ISO country code ("" = unknown) and the
    #: ids of the named locations the client address matched (the sign-in log's ``location``).
    country: str = ""
    named_locations: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.blocked and not self.requirements

    def merge(self, other: AccessDecision) -> AccessDecision:
        return AccessDecision(
            blocked=self.blocked or other.blocked,
            requirements=self.requirements | other.requirements,
            policy_results=self.policy_results + other.policy_results,
            reason=self.reason or other.reason,
            country=self.country or other.country,
            named_locations=self.named_locations + tuple(x for x in other.named_locations
                                                         if x not in self.named_locations),
        )


_evaluators: list[Callable[[AccessRequest], AccessDecision]] = []
_handlers: dict[str, str] = {}
_credits: list[Callable] = []


def register_session_credit(credit: Callable) -> None:
    """``credit(request, *, tenant, user, account)`` runs before every evaluation of an entry (sign-in stage,
    panel, app launch, token, console) and may :func:`mark_satisfied` what the session already proved
    elsewhere and the tenant accepts (``policies``: MFA from a partner whose MFA inbound trust accepts)."""
    if credit not in _credits:
        _credits.append(credit)


def apply_session_credits(request, *, tenant, user, account) -> None:
    for credit in _credits:
        credit(request, tenant=tenant, user=user, account=account)


def register_access_evaluator(evaluator: Callable[[AccessRequest], AccessDecision]) -> None:
    if evaluator not in _evaluators:
        _evaluators.append(evaluator)


def evaluators_registered() -> bool:
    """Whether any evaluator is registered (an enforcer may skip building requests when none is)."""
    return bool(_evaluators)


def evaluate_access(request: AccessRequest) -> AccessDecision:
    """Every registered evaluator's decision, merged; with none registered, nothing is required."""
    decision = AccessDecision()
    for evaluator in _evaluators:
        decision = decision.merge(evaluator(request))
    return decision


def register_requirement_handler(kind: str, url_name: str) -> None:
    """``url_name`` is reversed with the tenant's slug and given ``?next=`` and ``?requirement=``."""
    _handlers[kind] = url_name


def requirement_kind(requirement: str) -> str:
    return requirement.split(":", 1)[0]


def requirement_url(requirement: str, tenant, next_url: str) -> str | None:
    """The page that meets ``requirement`` in ``tenant``, or None when no app handles its kind (the
    enforcer then refuses: an unmet requirement nobody can meet is a block)."""
    kind = requirement_kind(requirement)
    if kind not in _handlers:
        return None
    return f"{reverse(_handlers[kind], args=[tenant.slug])}?{urlencode({'next': next_url, 'requirement': requirement})}"


def satisfied_at(session, tenant) -> dict[str, float]:
    """{requirement: unix time met} for this session in ``tenant``."""
    return dict((session.get(SESSION_KEY) or {}).get(str(tenant.pk), {}))


def satisfied(session, tenant) -> frozenset[str]:
    return frozenset(satisfied_at(session, tenant))


def mark_satisfied(session, tenant, requirement: str, *, at: float | None = None) -> None:
    """Record that this session met ``requirement`` in ``tenant`` (a handler calls it on success)."""
    store = dict(session.get(SESSION_KEY) or {})
    entries = dict(store.get(str(tenant.pk), {}))
    entries[requirement] = time.time() if at is None else at
    store[str(tenant.pk)] = entries
    session[SESSION_KEY] = store
