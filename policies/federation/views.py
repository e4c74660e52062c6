"""The pages of an external sign-in: ``/t/<tenant>/federation/<idp>/begin/?next=`` sends the person to the
identity provider; ``…/callback/`` takes its answer, checks it (``oidc``) and signs the person in through
``directory.federation``. Every refusal is a branded page that says why (the provider's own reason for an
``access_denied``, e.g. a partner deployment's cross-tenant settings)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from directory.federation import (
    FederationRefused,
    continue_elsewhere,
    federated_login_response,
    sign_in_federated,
)
from directory.models import Tenant
from directory.panel import tenant_context
from directory.signin import journey_email

from ..models import IdentityProvider
from . import oidc

PROBLEM_TEMPLATE = "policies/federation_problem.html"


def _identity_provider(slug: str, idp_id) -> IdentityProvider:
    tenant = get_object_or_404(Tenant, slug=slug)
    idp = IdentityProvider.objects.filter(tenant=tenant, pk=idp_id).select_related("tenant").first()
    if idp is None:  # another tenant's provider and a missing one look the same
        raise Http404
    return idp


def _safe_next(tenant: Tenant, value: str | None) -> str:
    """Only a path into this tenant (never another host or tenant): its access panel otherwise."""
    prefix = f"/t/{tenant.slug}/"
    if value and value.startswith(prefix) and "\\" not in value and "//" not in value:
        return value
    return reverse("directory:panel", args=[tenant.slug])


def _problem(request, tenant: Tenant, message: str, *, title: str = "", status: int = 403):
    return render(request, PROBLEM_TEMPLATE, tenant_context(
        request, tenant, title=title or _("You could not be signed in"), message=message), status=status)


@require_GET
def begin(request, slug: str, idp_id):
    idp = _identity_provider(slug, idp_id)
    next_url = _safe_next(idp.tenant, request.GET.get("next"))
    try:
        url = oidc.authorization_url(request.session, idp, next_url=next_url, login_hint=journey_email(request))
    except oidc.OIDCError as exc:
        return _problem(request, idp.tenant, _("%(idp)s cannot be reached right now. Try again in a few minutes.")
                        % {"idp": idp.display_name}, status=502) if exc.code == "temporarily_unavailable" else \
            _problem(request, idp.tenant, exc.message, status=502)
    return continue_elsewhere(request, url)


@require_GET
def callback(request, slug: str):
    tenant = get_object_or_404(Tenant, slug=slug)
    try:
        pending = oidc.take_pending(request.session, request.GET.get("state", ""))
    except oidc.OIDCError as exc:
        return _problem(request, tenant, exc.message, status=400)
    idp = IdentityProvider.objects.filter(tenant=tenant, pk=pending["idp"]).select_related("tenant").first()
    if idp is None:  # removed meanwhile, or a state begun for another tenant
        return _problem(request, tenant, _("This sign-in has expired or was not started here. Start again."),
                        status=400)
    error = request.GET.get("error")
    if error:
        # The provider refused (e.g. a partner deployment whose cross-tenant settings block us): its reason,
        # shown as text, bounded.
        description = (request.GET.get("error_description") or "").replace("\x00", "")[:500]
        if error == "access_denied" and description:
            message = description
        elif error == "access_denied":
            message = _("%(idp)s did not let you sign in to %(org)s.") % {"idp": idp.display_name, "org": tenant.name}
        else:
            message = _("%(idp)s could not sign you in (%(error)s).") % {"idp": idp.display_name,
                                                                        "error": error[:64]}
        return _problem(request, tenant, message, title=_("Your sign-in was refused"))
    code = request.GET.get("code")
    if not code or "\x00" in code:
        return _problem(request, tenant, _("The identity provider's answer has no authorization code."), status=400)
    try:
        identity = oidc.exchange_code(idp, code=code, pending=pending)
        account = sign_in_federated(
            request, tenant=tenant, issuer=identity.issuer, subject=identity.subject, email=identity.email,
            email_verified=identity.email_verified, display_name=identity.name, amr=identity.amr,
            home_tenant_id=identity.tenant_id if idp.kind in (IdentityProvider.Kind.DEPLOYMENT,
                                                              IdentityProvider.Kind.MICROSOFT) else "")
    except oidc.OIDCError as exc:
        return _problem(request, tenant, exc.message, status=502 if exc.code == "temporarily_unavailable" else 400)
    except FederationRefused as exc:
        return _problem(request, tenant, exc.message)
    return federated_login_response(request, account, redirect_url=pending["next"])
