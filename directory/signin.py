"""Glue to allauth's sign-in flows, in one place (allauth is pinned to 65.x in pyproject.toml)."""

import re

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import RequestLoginCodeForm as AllauthRequestLoginCodeForm
from allauth.account.internal.flows.login import get_authentication_records, record_authentication
from allauth.account.internal.flows.login_by_code import LoginCodeVerificationProcess
from allauth.core import ratelimit
from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from .models import Account, Tenant


class TooManyCodes(Exception):
    """Codes were requested too often for this address or from this client."""


def start_code_sign_in(request: HttpRequest, *, account: Account | None, email: str) -> None:
    """E-mail a one-time sign-in code to ``email`` (through the outbox) and keep the pending sign-in in
    the session; allauth's confirm page takes the code. With ``account=None`` nothing is sent, but the
    response is the same, so strangers cannot tell known addresses from unknown ones.

    Rate-limited exactly like allauth's own "request a code" form (per client and per address), for
    known and unknown addresses alike."""
    if not ratelimit.consume(request, action="request_login_code", key=email.lower()):
        raise TooManyCodes
    LoginCodeVerificationProcess.initiate(request=request, user=account, email=email)


def last_sign_in_method(request: HttpRequest) -> str:
    """How the current session's account last proved itself: "code", "password", "socialaccount", …"""
    records = get_authentication_records(request, request.user)
    return records[-1].get("method", "") if records else ""


#: allauth's record of how a session proved itself → the sign-in log's names for it.
_METHOD_NAMES = {"password": "password", "code": "code", "socialaccount": "federated"}


def session_authentication_methods(request: HttpRequest, account, tenant) -> frozenset[str]:
    """How this session proved itself for ``tenant``: the first factor ("password", "code",
    "federated") and the second factors answered there ("totp", "backupCode", "passkey")."""
    methods = set()
    for record in get_authentication_records(request, account):
        method = record.get("method", "")
        if method == "mfa":
            if record.get("tenant") == str(tenant.pk):
                methods.add(record.get("type", "mfa"))
        elif method in _METHOD_NAMES:
            methods.add(_METHOD_NAMES[method])
    return frozenset(methods)


def record_second_factor(request: HttpRequest, account, tenant, kind: str) -> None:
    """Note in the session (allauth's authentication records) that ``account`` answered a second
    factor of ``kind`` ("totp", "backupCode", "passkey") in ``tenant``."""
    record_authentication(request, account, method="mfa", type=kind, tenant=str(tenant.pk))


def session_authenticated_at(request: HttpRequest) -> float | None:
    """When the current session's account last proved itself (a POSIX time), or None when unknown."""
    records = get_authentication_records(request, request.user)
    times = [r.get("at") for r in records if isinstance(r.get("at"), (int, float))]
    return max(times) if times else None


def session_predates(request: HttpRequest, user) -> bool:
    """Does this session's sign-in come before ``user.sign_in_sessions_valid_from`` (set when the tenant
    reset the user's redemption)? Then it does not count for ``user``: the person proves it again. A
    session whose sign-in time is unknown counts as older."""
    valid_from = getattr(user, "sign_in_sessions_valid_from", None)
    if valid_from is None:
        return False
    authenticated_at = session_authenticated_at(request)
    return authenticated_at is None or authenticated_at < valid_from.timestamp()


def has_password_path(account: Account) -> bool:
    """Whether ``account`` may set, change or reset a password itself. Accounts that sign in by e-mailed
    code or through federation have no usable password and get none this way (a password would be a
    second way in that their tenants never allowed); members keep theirs."""
    return account.has_usable_password()


# --- upward hooks (DESIGN §3): the layers above register, the directory never imports them ---------

_code_sign_in_rule = None
_login_stages: list[str] = []


def register_code_sign_in_rule(rule) -> None:
    """Who may sign in with an e-mailed code is a policy (a tenant may switch e-mail one-time passcodes
    off): ``policies`` registers its rule, ``rule(*, account, tenant)``, the one its tenants' sign-in
    pages ask too."""
    global _code_sign_in_rule
    _code_sign_in_rule = rule


def code_sign_in_allowed(account: Account) -> bool:
    """Whether ``account`` may sign in to the platform with an e-mailed code. Until a rule is
    registered, only accounts with a password may (fail closed)."""
    if _code_sign_in_rule is None:
        return account.has_usable_password()
    return _code_sign_in_rule(account=account, tenant=None)


def register_login_stage(stage: str) -> None:
    """Add a sign-in stage (the dotted path of an allauth ``LoginStage``) that runs after allauth's own,
    in the order registered: conditional access, MFA and terms of use register theirs here."""
    if stage not in _login_stages:
        _login_stages.append(stage)


def login_stages() -> list[str]:
    return list(_login_stages)


class LoginForm(AllauthLoginForm):
    """allauth's password form, with the invited address filled in on an invitation's journey."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = kwargs.get("request") or getattr(self, "request", None)
        if not self.is_bound and request is not None and (email := journey_email(request)):
            self.fields["login"].initial = email


class RequestLoginCodeForm(AllauthRequestLoginCodeForm):
    """allauth's platform-wide "send me a code" form: an account the rule refuses is treated like an
    unknown address (same answer, no mail, and no code can sign it in)."""

    def clean_email(self) -> str:
        email = super().clean_email()
        user = getattr(self, "_user", None)
        if user is not None and not code_sign_in_allowed(user):
            self._user = None
        return email


# --- the tenant's journey through the platform's own pages ------------------------------------------
#
# allauth's pages (enter your code, password, sign out) and its sign-in code e-mail are the platform's,
# not a tenant's. While a person is on their way into a tenant they carry that tenant's branding and
# language. Which tenant: the ``next`` the page was asked for when it points into a tenant
# (``/t/<slug>/…``) — a ``next`` anywhere else (the admin console) means the platform's own look —
# else the journey the session remembers (set by the tenant's sign-in page and by an invitation's
# landing page, kept across sign-in, gone with sign-out).

JOURNEY_KEY = "directory.journey"
_TENANT_PATH = re.compile(r"^/t/(?P<slug>[-a-zA-Z0-9_]+)/")


def _journey_data(request: HttpRequest) -> dict:
    session = getattr(request, "session", None)
    return (session.get(JOURNEY_KEY) if session is not None else None) or {}


def remember_journey(request: HttpRequest, tenant: Tenant, *, language: str = "", email: str = "") -> None:
    """Remember that this session is on its way into ``tenant``: in which language (when an invitation
    chose one) and for which address (the invited one, pre-filled on the password page)."""
    old = request.session.get(JOURNEY_KEY) or {}
    data = {"tenant": tenant.slug}
    if old.get("tenant") == tenant.slug:
        data.update({key: old[key] for key in ("language", "email") if old.get(key)})
    if language:
        data["language"] = language
    if email:
        data["email"] = email
    request.session[JOURNEY_KEY] = data


def journey_email(request: HttpRequest) -> str:
    """The address this session's invitation journey is for (pre-filled on the password page), or ''
    when the page belongs to no journey or to another tenant's."""
    data = _journey_data(request)
    if not data.get("email") or _journey_slug(request) != data.get("tenant"):
        return ""
    return data["email"]


def journey_language(request: HttpRequest) -> str:
    """The language an invitation chose for this session's journey, or ''."""
    data = _journey_data(request)
    language = data.get("language") or ""
    return language if language in dict(settings.LANGUAGES) else ""


def _next_url(request: HttpRequest) -> str | None:
    value = request.POST.get("next") if request.method == "POST" else None
    return value or request.GET.get("next")


def _journey_slug(request: HttpRequest) -> str | None:
    next_url = _next_url(request)
    if next_url:
        match = _TENANT_PATH.match(next_url)
        return match["slug"] if match else None
    data = _journey_data(request)
    return data.get("tenant")


def journey_tenant(request: HttpRequest) -> Tenant | None:
    """The tenant whose journey this request is part of, or None (the platform's own look)."""
    slug = _journey_slug(request)
    if not slug:
        return None
    return Tenant.objects.filter(slug=slug).prefetch_related("brandings").first()


class JourneyLanguageMiddleware:
    """While a session follows an invitation written in another language, the journey's pages (the
    platform's sign-in pages and the tenant's) speak it, whatever the browser asks for. Runs after
    Django's LocaleMiddleware; nothing changes for sessions without a journey language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        language = journey_language(request)
        if language and (request.path.startswith("/accounts/")
                         or request.path.startswith(f"/t/{request.session[JOURNEY_KEY]['tenant']}/")):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
