"""Enforcing what entering a tenant, an app or the console requires (DESIGN §6, directory/access.py).

One function, :func:`enforce`, is asked on every path a person takes in: the allauth login stage
(:class:`AccessStage`), every access-panel page (``PanelView``), an app launch, and the admin console
for the tenant being administered. It builds the :class:`~directory.access.AccessRequest` from the HTTP
request (the client address from ``directory.net.client_ip`` only), asks the registered evaluators, and
answers: nothing (go on), a branded block page, or a redirect to the page that meets the first unmet
requirement. A requirement no app can meet is a block.

The sign-in log gets a row for every interactive sign-in (the login stage), and for an entry whose
outcome this session has not logged yet for that tenant, resource and app (an interruption, the
success after it, a block) when conditional access had a say in it (a policy result, a block or a
requirement). An entry no policy touched is not a sign-in of its own: the sign-in that started the
session was logged, and a page view costs no write.
"""

from __future__ import annotations

from allauth.account.stages import LoginStage
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _

from . import access
from .access import AccessDecision, AccessRequest
from .federation import federated_sign_in_of
from .models import Tenant
from .net import client_ip
from .selectors import branding_for
from .signin import session_authentication_methods

LOGGED_KEY = "access.logged"
BLOCK_TEMPLATE = "directory/access_blocked.html"


def access_request_for(request, tenant, *, user, account=None, resource: str = access.PANEL,
                       application=None) -> AccessRequest:
    """The question for ``tenant``, from what this HTTP request and its session tell."""
    account = account if account is not None else (request.user if request.user.is_authenticated else None)
    session = request.session
    if account is not None:
        access.apply_session_credits(request, tenant=tenant, user=user, account=account)
    return AccessRequest(
        tenant=tenant, user=user, account=account, resource=resource, application=application,
        ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
        client_app_type="browser", satisfied=access.satisfied(session, tenant),
        satisfied_at=access.satisfied_at(session, tenant),
        authentication_methods=session_authentication_methods(request, account, tenant) if account else frozenset(),
        now=timezone.now(), federation=federated_sign_in_of(request, account),
    )


def decide(request, access_request: AccessRequest, *, sign_in: bool = False) -> AccessDecision:
    """Ask the evaluators; log the outcome (always for a ``sign_in``; for an entry, see module doc)."""
    decision = access.evaluate_access(access_request)
    log_outcome(request, access_request, decision, sign_in=sign_in)
    return decision


def log_outcome(request, access_request: AccessRequest, decision: AccessDecision, *, sign_in: bool = False) -> None:
    from .services.signins import sign_in_event_record, sign_in_result

    if sign_in:
        sign_in_event_record(access_request=access_request, decision=decision)
    elif decision.policy_results or not decision.allowed:
        key = f"{access_request.tenant.pk}:{access_request.resource}:{getattr(access_request.application, 'pk', '')}"
        outcome = f"{sign_in_result(decision)}:{','.join(sorted(decision.requirements))}"
        logged = dict(request.session.get(LOGGED_KEY) or {})
        if logged.get(key) != outcome:
            sign_in_event_record(access_request=access_request, decision=decision)
            logged[key] = outcome
            request.session[LOGGED_KEY] = logged


def block_response(request, tenant, reason: str = "") -> HttpResponse:
    # the tenant-branded page's context (as panel.tenant_context builds it; the panel imports this module)
    language = (getattr(request, "LANGUAGE_CODE", None) or "en")[:2]
    return render(request, BLOCK_TEMPLATE, dict(tenant=tenant, branding=branding_for(tenant, language), reason=reason or _(
        "Your sign-in was successful, but it does not meet the criteria to access this resource.")), status=403)


def respond(request, tenant, decision: AccessDecision, next_url: str) -> HttpResponse | None:
    """What to answer for ``decision``: None when allowed."""
    if decision.allowed:
        return None
    if decision.blocked:
        return block_response(request, tenant, decision.reason)
    for requirement in sorted(decision.requirements, key=_requirement_order):
        url = access.requirement_url(requirement, tenant, next_url)
        if url is None:
            return block_response(request, tenant, _("This organization requires something of your sign-in "
                                                     "that cannot be met here."))
    first = sorted(decision.requirements, key=_requirement_order)[0]
    return HttpResponseRedirect(access.requirement_url(first, tenant, next_url))


def _requirement_order(requirement: str) -> tuple[int, str]:
    # Entra's order: prove who you are (MFA, strength) before agreeing to terms of use.
    kind = access.requirement_kind(requirement)
    return ({"mfa": 0, "authenticationStrength": 1}.get(kind, 2), requirement)


def enforce(request, tenant, user, *, resource: str = access.PANEL, application=None,
            next_url: str | None = None, blocks_only: bool = False) -> HttpResponse | None:
    """Evaluate entering ``tenant`` (``resource``, ``application``) for the signed-in person; None to go on.
    ``blocks_only``: the pages where requirements are met still honour a block, but not the requirements
    they exist to meet."""
    access_request = access_request_for(request, tenant, user=user, resource=resource, application=application)
    if blocks_only:  # only a block is logged here: the requirements are what this page meets
        decision = access.evaluate_access(access_request)
        if not decision.blocked:
            return None
        log_outcome(request, access_request, decision)
        return block_response(request, tenant, decision.reason)
    decision = decide(request, access_request)
    return respond(request, tenant, decision, next_url or request.get_full_path())


def console_refusals(request, tenant_ids) -> dict:
    """{tenant_id: (reason, url to meet the requirement or None)} for the tenants among ``tenant_ids``
    whose conditional access does not let this session administer them now (resource CONSOLE); the
    console then leaves them out. No query when no evaluator is registered."""
    if not access.evaluators_registered() or not tenant_ids or not request.user.is_authenticated:
        return {}
    from .models import User

    refusals = {}
    users = User.objects.active().filter(account=request.user, tenant_id__in=list(tenant_ids)).select_related("tenant")
    for user in users:
        tenant = user.tenant
        decision = decide(request, access_request_for(request, tenant, user=user, resource=access.CONSOLE))
        if decision.allowed:
            continue
        if decision.blocked:
            refusals[tenant.pk] = (decision.reason or _("Conditional access blocks administering this tenant now."),
                                   None)
            continue
        first = sorted(decision.requirements, key=_requirement_order)[0]
        refusals[tenant.pk] = (_("Verify your identity to administer this tenant."),
                               access.requirement_url(first, tenant, request.get_full_path()))
    return refusals


def tenant_of_url(url: str | None) -> Tenant | None:
    """The tenant a path under ``/t/<slug>/`` belongs to (the sign-in's destination), else None."""
    if not url or not url.startswith("/"):
        return None
    try:
        match = resolve(url.split("?", 1)[0])
    except Resolver404:
        return None
    slug = match.kwargs.get("slug")
    return Tenant.objects.filter(slug=slug).first() if slug else None


class AccessStage(LoginStage):
    """The allauth login stage: right after a person proves who they are, evaluate the tenant they are
    signing in to (the one their destination belongs to). A block ends the sign-in on the block page;
    an unmet requirement makes its page the first one after sign-in (it comes back to the destination),
    so the challenge runs before anything of the tenant is shown. The sign-in is logged either way."""

    key = "directory_access"

    def handle(self):
        from .models import User

        tenant = tenant_of_url(self.login.redirect_url)
        account = self.login.user
        if tenant is None or account is None:
            return None, True
        user = User.objects.of_account(tenant=tenant, account=account)
        access_request = access_request_for(self.request, tenant, user=user, account=account)
        decision = decide(self.request, access_request, sign_in=True)
        if decision.blocked:
            return block_response(self.request, tenant, decision.reason), False
        if decision.requirements and user is not None:
            response = respond(self.request, tenant, decision, self.login.redirect_url)
            if isinstance(response, HttpResponseRedirect):
                self.login.redirect_url = response["Location"]
            else:
                return response, False
        return None, True


def record_failed_password(sender, credentials=None, request=None, **kwargs) -> None:
    """``user_login_failed``: a wrong password for a known account, signing in to a tenant where it has
    a user, goes into that tenant's sign-in log (Entra's 50126). Unknown addresses are not logged
    anywhere (no tenant to log them in, and nothing to tell about them)."""
    from .models import Account, User
    from .services.signins import INVALID_CREDENTIALS, sign_in_event_record

    if request is None:
        return
    tenant = tenant_of_url(request.POST.get("next") or request.GET.get("next"))
    email = (credentials or {}).get("email") or (credentials or {}).get("username") or ""
    if tenant is None or not email:
        return
    account = Account.objects.filter(email__iexact=email).first()
    user = User.objects.active().filter(tenant=tenant, account=account).first() if account else None
    if user is None:
        return
    access_request = AccessRequest(tenant=tenant, user=user, account=account, ip=client_ip(request),
                                   user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                                   authentication_methods=frozenset({"password"}), now=timezone.now())
    sign_in_event_record(access_request=access_request, decision=AccessDecision(), error_code=INVALID_CREDENTIALS,
                         failure_reason="Invalid username or password.")
