"""The terms of use page (``/t/<tenant>/terms-of-use/``): the "termsOfUse" requirement handler of
``directory.access``, also shown in the redemption journey right after consent (Entra's order).

With ``?requirement=termsOfUse:<id>`` it asks for that agreement (in the person's language, expanded
first when the agreement says so); accepting records who, when, which version and from where, marks the
requirement met for this session and goes on to ``?next=``; declining blocks, as in Entra. Without it,
it lists the organization's terms of use and what the person accepted (Entra's review in My Account).
"""

from __future__ import annotations

import uuid

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from directory.access import AccessRequest, mark_satisfied, requirement_url
from directory.access import satisfied as session_satisfied
from directory.access import satisfied_at as session_satisfied_at
from directory.net import client_ip
from directory.panel import PanelView

from . import services
from .access import conditional_access_evaluator
from .models import Agreement, AgreementAcceptance

KIND = "termsOfUse"


def _safe_next(request, tenant, value: str | None) -> str:
    """Only a path on this site (never another host): the panel otherwise."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return reverse("directory:panel", args=[tenant.slug])


def _agreement_id(requirement: str) -> uuid.UUID | None:
    kind, _sep, detail = (requirement or "").partition(":")
    if kind != KIND:
        return None
    try:
        return uuid.UUID(detail)
    except ValueError:
        return None


class TermsOfUseView(PanelView):
    section = ""
    template_name = "policies/panel/terms_of_use.html"
    #: Meets this requirement kind: the enforcer must not ask for it before showing this page.
    satisfies_requirement = KIND
    meets_requirements = True  # directory.panel.PanelView: honour a block here, not the requirements

    def _agreement(self) -> Agreement | None:
        requirement = self.request.GET.get("requirement", "")
        if not requirement:
            return None
        agreement_id = _agreement_id(requirement)
        agreement = Agreement.objects.filter(tenant=self.tenant, pk=agreement_id).first() if agreement_id else None
        if agreement is None:
            raise Http404  # another tenant's terms, or none: the same answer
        return agreement

    def _file(self, agreement: Agreement):
        language = (getattr(self.request, "LANGUAGE_CODE", None) or "en").lower()
        files = list(agreement.files.all())
        for match in (lambda f: f.language.lower() == language,
                      lambda f: f.language.lower()[:2] == language[:2], lambda f: f.is_default):
            found = next((f for f in files if match(f)), None)
            if found is not None:
                return found
        return files[0] if files else None

    def get(self, request, *args, **kwargs):
        agreement = self._agreement()
        if agreement is None:
            agreements = list(Agreement.objects.filter(tenant=self.tenant).order_by("display_name"))
            latest = {}
            for acceptance in AgreementAcceptance.objects.filter(user=self.tenant_user).order_by("recorded_at"):
                latest[acceptance.agreement_id] = acceptance
            return self.render(agreements=[(a, latest.get(a.pk)) for a in agreements])
        return self.render(agreement=agreement, file=self._file(agreement),
                           next=_safe_next(request, self.tenant, request.GET.get("next")),
                           requirement=request.GET.get("requirement"))

    def post(self, request, *args, **kwargs):
        agreement = self._agreement()
        if agreement is None:
            raise Http404
        file = self._file(agreement)
        accept = request.POST.get("decision") == "accept"
        if accept and agreement.is_viewing_before_acceptance_required and request.POST.get("expanded") != "yes":
            return self.render(status=400, agreement=agreement, file=file, requirement=request.GET.get("requirement"),
                               next=_safe_next(request, self.tenant, request.GET.get("next")),
                               error=_("Open and read the terms of use before you accept them."))
        services.agreement_accept(actor=self.actor, agreement=agreement, user=self.tenant_user, accept=accept,
                                  language=file.language if file else "", ip=client_ip(request),
                                  user_agent=request.headers.get("User-Agent", ""))
        if not accept:
            return render(request, "directory/panel/no_access.html", self.context(reason=_(
                "You declined the terms of use “%(name)s”. Access is blocked until you accept them.") % {
                "name": agreement.display_name}), status=403)
        requirement = f"{KIND}:{agreement.pk}"
        mark_satisfied(request.session, self.tenant, requirement)
        next_url = _safe_next(request, self.tenant, request.GET.get("next"))
        # Several terms of use are asked one at a time (Entra): the next one still due, else on.
        return terms_after_consent(request, self.tenant, self.tenant_user, next_url) or HttpResponseRedirect(next_url)


def terms_after_consent(request, tenant, user, next_url: str) -> HttpResponse | None:
    """The redemption journey's step after consent: the first terms of use a conditional access policy
    requires of this guest and that are not accepted yet, or None. (MFA belongs to sign-in, before consent;
    only terms of use are asked here, as in Entra.)"""
    decision = conditional_access_evaluator(AccessRequest(
        tenant=tenant, user=user, account=user.account, ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""), satisfied=session_satisfied(request.session, tenant),
        satisfied_at=session_satisfied_at(request.session, tenant)))
    pending = sorted(r for r in decision.requirements if r.startswith(f"{KIND}:"))
    if decision.blocked or not pending:
        return None
    url = requirement_url(pending[0], tenant, _safe_next(request, tenant, next_url))
    return HttpResponseRedirect(url) if url else None
