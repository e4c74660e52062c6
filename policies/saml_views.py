"""SAML 2.0 domain federation, the browser's side (``/t/<tenant>/saml/<configuration>/…``): the SP
metadata a partner configures its IdP with, the start of a sign-in (HTTP-Redirect AuthnRequest) and the
assertion consumer service (HTTP-POST).

Why two steps at the ACS: the IdP posts the response from its own site, and the session cookie is
SameSite=Lax, so that POST arrives without the session that started the request. The POST only parks the
response (single use, two minutes) and redirects to a GET of the same URL, which a top-level navigation
sends with the session: there the response is checked against the request this session started
(``policies.saml.consume_response``) and the person is signed in through the directory's one federated
sign-in (``directory.federation.sign_in_federated``, then ``federated_login_response``: allauth's login stages).

Why a page before the IdP: the start is reached from the invitation's form (POST) and the
Content-Security-Policy's ``form-action 'self'`` would stop a redirect chain that leaves the site; the
page continues with a plain navigation (a link, followed at once by ``<meta http-equiv=refresh>``).
"""

from __future__ import annotations

import secrets
import uuid

from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from directory.federation import FederationRefused, federated_login_response, sign_in_federated
from directory.models import Tenant
from directory.panel import tenant_context

from . import saml
from .models import ExternalDomainFederation

PARKED_SECONDS = 120


def _federation(slug: str, federation_id: str) -> ExternalDomainFederation:
    try:
        pk = uuid.UUID(str(federation_id))
    except ValueError:
        raise Http404 from None
    # One query for both: a missing tenant, a missing configuration and another tenant's are the same 404.
    federation = ExternalDomainFederation.objects.filter(tenant__slug=slug, pk=pk).select_related("tenant").first()
    if federation is None:
        raise Http404
    return federation


def safe_next(tenant: Tenant, value: str | None) -> str:
    """Only a path into this tenant's pages; the access panel otherwise."""
    prefix = f"/t/{tenant.slug}/"
    if (isinstance(value, str) and value.startswith(prefix) and "\\" not in value and "\x00" not in value
            and "//" not in value and len(value) <= 2000):
        return value
    return reverse("directory:panel", args=[tenant.slug])


def refused_page(request, tenant: Tenant, message: str, *, status: int = 403):
    return render(request, "policies/saml/refused.html",
                  tenant_context(request, tenant, title=_("Sign-in refused"), message=message), status=status)


@require_http_methods(["GET"])
def saml_metadata(request, slug: str, federation_id: str):
    """The SP metadata (entity ID, ACS, persistent NameID) to give the partner."""
    federation = _federation(slug, federation_id)
    response = HttpResponse(saml.sp_metadata(federation), content_type="application/samlmetadata+xml")
    response["Content-Disposition"] = f'inline; filename="{slug}-saml-metadata.xml"'
    return response


@require_http_methods(["GET"])
def saml_begin(request, slug: str, federation_id: str):
    federation = _federation(slug, federation_id)
    tenant = federation.tenant
    if federation.preferred_authentication_protocol != ExternalDomainFederation.Protocol.SAML:
        return refused_page(request, tenant, _("%(idp)s signs in with WS-Fed, which this deployment does not speak "
                                               "yet. Ask %(org)s to use SAML 2.0.") % {
            "idp": federation.display_name, "org": tenant.name}, status=501)
    url = saml.start_authn_request(request, federation, next_url=safe_next(tenant, request.GET.get("next")))
    response = render(request, "policies/saml/continue.html",
                      tenant_context(request, tenant, federation=federation, idp_url=url))
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # posted by the partner's IdP; the response's signature and the session binding protect it
@require_http_methods(["GET", "POST"])
def saml_acs(request, slug: str, federation_id: str):
    federation = _federation(slug, federation_id)
    tenant = federation.tenant
    if request.method == "POST":
        value = request.POST.get("SAMLResponse", "")
        if not value or len(value) > saml.MAX_RESPONSE_BYTES:
            return refused_page(request, tenant, saml.refuse("malformed").message, status=400)
        key = secrets.token_urlsafe(24)
        cache.set(f"saml:parked:{federation.pk}:{key}", value, timeout=PARKED_SECONDS)
        return HttpResponseRedirect(f"{request.path}?parked={key}", status=303)
    key = request.GET.get("parked", "")
    cache_key = f"saml:parked:{federation.pk}:{key}"
    value = cache.get(cache_key) if key and len(key) <= 64 else None
    if value is None:
        return refused_page(request, tenant, saml.refuse("unsolicited").message, status=400)
    cache.delete(cache_key)
    try:
        assertion, next_url = saml.consume_response(request, federation, value)
    except saml.SamlRefused as exc:
        return refused_page(request, tenant, exc.message)
    try:
        # The e-mail is verified: its domain is one this configuration federates (consume_response checked).
        account = sign_in_federated(request, tenant=tenant, issuer=assertion.issuer, subject=assertion.subject,
                                    email=assertion.email, email_verified=True, display_name=assertion.display_name)
    except FederationRefused as exc:
        return refused_page(request, tenant, exc.message)
    return federated_login_response(request, account, redirect_url=safe_next(tenant, next_url))
