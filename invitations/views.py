"""Redemption and the access panel (``/t/<tenant>/…``). GET only renders; every change is a POST."""

from urllib.parse import urlencode

from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from directory.actors import Actor
from directory.models import Account, Tenant
from directory.panel import tenant_context
from directory.selectors import branding_for
from directory.signin import (
    TooManyCodes,
    journey_email,
    last_sign_in_method,
    remember_journey,
    session_predates,
    start_code_sign_in,
)
from policies.selectors import code_sign_in_allowed
from policies.views import terms_after_consent

from . import services
from .discovery import Provider, discover
from .forms import EmailForm
from .models import Invitation
from .selectors import invitation_for_token, pending_invitation_for
from .validation import validate_redirect_url

PENDING_KEY = "invitations.pending"


def _tenant(slug: str) -> Tenant:
    return get_object_or_404(Tenant, slug=slug)


def _context(request, tenant: Tenant, **extra) -> dict:
    return tenant_context(request, tenant, **extra)


def _problem(request, tenant, title: str, message: str, status: int = 400):
    return render(request, "invitations/problem.html", _context(request, tenant, title=title, message=message),
                  status=status)


def _remember(request, invitation: Invitation) -> None:
    # Binds the rest of the journey to this invitation and tenant, whatever the e-mail form says; the
    # platform's sign-in pages on the way carry the tenant's branding and the invitation's language.
    request.session[PENDING_KEY] = {"invitation": str(invitation.pk), "tenant": str(invitation.tenant_id)}
    remember_journey(request, invitation.tenant, language=_language(invitation), email=invitation.invited_email)


def _language(invitation: Invitation) -> str:
    return invitation.message_language or "en"


def _render_in(language: str, request, template: str, context: dict, status: int = 200):
    """Render in the invitation's language (``<html lang>`` too), whatever the browser asked for."""
    with translation.override(language):
        return render(request, template, context, status=status)


def _pending(request, tenant: Tenant) -> Invitation | None:
    data = request.session.get(PENDING_KEY) or {}
    if data.get("tenant") != str(tenant.pk):
        return None
    return Invitation.objects.filter(pk=data.get("invitation"), tenant=tenant).select_related(
        "tenant", "invited_user", "invited_by").first()


def _consent_url(tenant: Tenant) -> str:
    return reverse("invitations:consent", args=[tenant.slug])


def _begin(request, invitation: Invitation):
    """Send the guest to prove control of the invited address, by the provider discovery picks."""
    tenant = invitation.tenant
    _remember(request, invitation)
    consent = _consent_url(tenant)
    if request.user.is_authenticated:
        if request.user.email.lower() == invitation.invited_email.lower():
            return redirect(consent)
        return _render_in(_language(invitation), request, "invitations/wrong_account.html", _context(
            request, tenant, invitation=invitation, signed_in_as=request.user.email), status=409)
    discovery = discover(tenant=tenant, email=invitation.invited_email)
    provider = discovery.provider
    if provider == Provider.FEDERATED:
        # The partner's own identity provider proves the address (another deployment, SAML, OIDC, Google, …).
        return HttpResponseRedirect(discovery.route.url_with_next(consent))
    if provider == Provider.HOME_TENANT:
        return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': consent})}")
    if provider == Provider.EMAIL_OTP:
        account = services.guest_account_for(email=invitation.invited_email)
        try:
            start_code_sign_in(request, account=account, email=invitation.invited_email)
        except TooManyCodes:
            return _problem(request, tenant, _("Too many codes"), _(
                "Several codes were sent to this address a moment ago. Use the newest one, or try again in a "
                "few minutes."), status=429)
        return HttpResponseRedirect(f"{reverse('account_confirm_login_code')}?{urlencode({'next': consent})}")
    return _problem(request, tenant, _("No way to sign in"), _(
        "%(org)s does not accept one-time passcodes, and your address has no account here. Ask the person who "
        "invited you.") % {"org": tenant.name}, status=403)


@require_http_methods(["GET", "POST"])
def invitation_landing(request, slug: str, token: str):
    """The link in the e-mail. GET shows the invitation (mail scanners consume nothing); POST starts."""
    tenant = _tenant(slug)
    invitation = invitation_for_token(tenant=tenant, raw_token=token)
    if invitation is None:
        return _problem(request, tenant, _("Invitation not found"), _(
            "This invitation link is not valid. It may have been replaced by a newer invitation; use the link in "
            "the most recent e-mail, or ask the person who invited you."), status=404)
    # From here on, every answer (the invitation, why it can't be used, what comes next) speaks the
    # invitation's language.
    with translation.override(_language(invitation)):
        error = services.redeemability_error(invitation)
        if error:
            if error.code == "already_redeemed":
                return render(request, "invitations/already_redeemed.html", _context(request, tenant), status=410)
            return _problem(request, tenant, _("Invitation can't be used"), error.message, status=410)
        if request.method == "POST":
            return _begin(request, invitation)
        remember_journey(request, tenant, language=_language(invitation), email=invitation.invited_email)
        return render(request, "invitations/landing.html", _context(
            request, tenant, invitation=invitation, privacy_url=tenant.privacy_statement_url))


@require_http_methods(["GET", "POST"])
def consent(request, slug: str):
    tenant = _tenant(slug)
    if not request.user.is_authenticated:
        return redirect("invitations:sign_in", slug=slug)
    invitation = _pending(request, tenant)
    if invitation is None:
        return redirect("directory:panel", slug=slug)
    error = services.redeemability_error(invitation)
    if error:
        request.session.pop(PENDING_KEY, None)
        return _problem(request, tenant, _("Invitation can't be used"), error.message, status=410)
    if request.user.email.lower() != invitation.invited_email.lower():
        return _render_in(_language(invitation), request, "invitations/wrong_account.html", _context(
            request, tenant, invitation=invitation, signed_in_as=request.user.email), status=409)
    if session_predates(request, invitation.invited_user):
        # The redemption was reset after this session signed in: that sign-in proves nothing here any
        # more. End it and have the person prove the address again (a new code, or their home sign-in).
        _end_session_keeping_invitation(request)
        return _begin(request, invitation)
    if request.method == "GET":
        # Cross-tenant automatic redemption (both tenants ticked it): no consent page, a notice e-mail.
        try:
            redeemed = services.invitation_redeem_automatically(
                actor=Actor.for_account(request.user, tenant), invitation=invitation,
                method=last_sign_in_method(request) or "password")
        except services.RedemptionError as exc:
            request.session.pop(PENDING_KEY, None)
            return _problem(request, tenant, _("Invitation can't be used"), exc.message, status=409)
        if redeemed is not None:
            request.session.pop(PENDING_KEY, None)
            try:
                return (terms_after_consent(request, tenant, invitation.invited_user, invitation.redirect_url)
                        or HttpResponseRedirect(validate_redirect_url(invitation.redirect_url)))
            except ValidationError:
                return redirect("directory:panel", slug=slug)
    if request.method == "POST":
        if request.POST.get("decision") != "accept":
            request.session.pop(PENDING_KEY, None)
            return _render_in(_language(invitation), request, "invitations/declined.html", _context(request, tenant))
        try:
            services.invitation_redeem(actor=Actor.for_account(request.user, tenant), invitation=invitation,
                                       method=last_sign_in_method(request) or "password")
        except services.RedemptionError as exc:
            request.session.pop(PENDING_KEY, None)
            return _problem(request, tenant, _("Invitation can't be used"), exc.message, status=409)
        request.session.pop(PENDING_KEY, None)
        try:
            return (terms_after_consent(request, tenant, invitation.invited_user, invitation.redirect_url)
                    or HttpResponseRedirect(validate_redirect_url(invitation.redirect_url)))
        except ValidationError:
            return redirect("directory:panel", slug=slug)
    context = _context(request, tenant, invitation=invitation, account=request.user,
                       privacy_url=tenant.privacy_statement_url)
    return _render_in(_language(invitation), request, "invitations/consent.html", context)


@require_http_methods(["GET", "POST"])
def sign_in(request, slug: str):
    """Sign in to this organization by e-mailed code; invited guests redeem here just in time.

    Every address gets the same answer, the "enter your code" page (which offers the password to
    everyone): a code goes only to addresses that may use one, so which way in an address has is never
    told before it is proven."""
    tenant = _tenant(slug)
    next_url = request.GET.get("next") or reverse("directory:panel", args=[slug])
    if not next_url.startswith(f"/t/{slug}/") or next_url.startswith(request.path):
        next_url = reverse("directory:panel", args=[slug])
    if request.user.is_authenticated:
        # Signed in already (e.g. with a password, from the link below): go where the person was going.
        return HttpResponseRedirect(next_url)
    remember_journey(request, tenant)
    # The address this journey is for (the invitation's, or the one typed before a lock-out).
    form = EmailForm(request.POST or None, initial={"email": journey_email(request)})
    if hint := getattr(branding_for(tenant, _page_language(request)), "username_hint_text", ""):
        form.fields["email"].widget.attrs["placeholder"] = hint  # the tenant's "username hint" (company branding)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        remember_journey(request, tenant, email=email)
        invitation = pending_invitation_for(tenant=tenant, email=email)
        discovery = discover(tenant=tenant, email=email)
        if discovery.provider == Provider.FEDERATED:
            # Home realm discovery: the address's domain signs in at its own identity provider (the route
            # depends on the domain only, so it tells nothing about whether the address has an account).
            if invitation is not None and services.redeemability_error(invitation) is None:
                _remember(request, invitation)
                return HttpResponseRedirect(discovery.route.url_with_next(_consent_url(tenant)))
            return HttpResponseRedirect(discovery.route.url_with_next(next_url))
        if invitation is not None and services.redeemability_error(invitation) is None:
            _remember(request, invitation)
            provider = discovery.provider
            if provider == Provider.HOME_TENANT:
                # The invited address is an account here: the code proves it as well as its password
                # (offered on the code page), and sending a stranger elsewhere would tell them apart.
                account = Account.objects.with_email(email).first()
            else:
                account = services.guest_account_for(email=email) if provider == Provider.EMAIL_OTP else None
        else:
            account = _known_account(tenant, email)
        # Known or not, the response is the same: "we sent you a code".
        try:
            start_code_sign_in(request, account=account, email=email)
        except TooManyCodes:
            form.add_error("email", _("Too many codes were requested for this address. Try again in a few "
                                      "minutes."))
            return render(request, "invitations/sign_in.html", _context(request, tenant, form=form,
                                                                         next_url=next_url), status=429)
        return HttpResponseRedirect(f"{reverse('account_confirm_login_code')}?{urlencode({'next': next_url})}")
    return render(request, "invitations/sign_in.html", _context(request, tenant, form=form, next_url=next_url))


def _page_language(request) -> str:
    return (translation.get_language() or "en")[:2]


def _known_account(tenant: Tenant, email: str):
    """The account that gets a code on this tenant's sign-in page, by the same rule as the platform's
    code page (policies.selectors.code_sign_in_allowed); None for everyone else."""
    account = Account.objects.with_email(email).first()
    if account is None or not code_sign_in_allowed(account=account, tenant=tenant):
        return None
    return account


def redeem_just_in_time(request, tenant: Tenant):
    """The access panel's entry hook (registered in ``InvitationsConfig.ready``): a signed-in person with
    no user object in the tenant but a redeemable invitation for their address goes to consent."""
    invitation = pending_invitation_for(tenant=tenant, email=request.user.email)
    if invitation is not None and services.redeemability_error(invitation) is None:
        _remember(request, invitation)
        return redirect("invitations:consent", slug=tenant.slug)
    return None


def _end_session_keeping_invitation(request) -> None:
    pending = request.session.get(PENDING_KEY)
    logout(request)  # flushes the session: a new key, nothing of the old sign-in left
    if pending:
        request.session[PENDING_KEY] = pending


@require_http_methods(["POST"])
def switch_account(request, slug: str):
    """Sign out and start again from the pending invitation (the 'signed in as someone else' page)."""
    tenant = _tenant(slug)
    pending = request.session.get(PENDING_KEY)
    logout(request)
    if pending:
        request.session[PENDING_KEY] = pending
        invitation = _pending(request, tenant)
        if invitation is not None and services.redeemability_error(invitation) is None:
            return _begin(request, invitation)
    return redirect("invitations:sign_in", slug=slug)
