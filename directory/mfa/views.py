"""Security info, authenticator app registration and the MFA challenge (panel pages of the directory)."""

import json
import time

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import access
from ..models import AuthenticationMethod
from ..panel import PanelView, Section, register_section
from ..selectors import authentication_methods_of
from ..services import mfa as mfa_services
from ..signin import record_second_factor
from .qr import qr_svg

#: How recently MFA must have been answered to remove the last method (ours; Entra asks "recently").
FRESH_SECONDS = 10 * 60
PENDING_KEY = "mfa.pending_totp"
#: WebAuthn challenges waiting for the browser's answer: {"register:<tenant>" | "verify:<tenant>": state}.
PASSKEY_STATE_KEY = "mfa.passkey_state"
STRENGTHS = ("mfa", "passwordless", "phishingResistant")


def _safe_next(request, fallback: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return fallback


def _challenge_url(tenant, next_url: str, requirement: str = "mfa") -> str:
    return access.requirement_url(requirement, tenant, next_url)


def _recently_verified(session, tenant) -> bool:
    at = access.satisfied_at(session, tenant).get("mfa")
    return at is not None and time.time() - at <= FRESH_SECONDS


class MfaPanelView(PanelView):
    def methods(self):
        return list(authentication_methods_of(self.tenant_user))

    def verified(self) -> bool:
        return "mfa" in access.satisfied(self.request.session, self.tenant)


class SecurityInfoView(MfaPanelView):
    """The person's methods in this tenant: add an authenticator app, (re)create backup codes, remove."""

    section = "security-info"
    template_name = "directory/mfa/security_info.html"
    access_resource = access.REGISTER_SECURITY_INFO

    def get(self, request):
        return self.render(methods=self.methods())

    def post(self, request):
        here = request.path
        methods = self.methods()
        # Adding or changing methods when one exists needs MFA first (as Entra asks), so a stolen first
        # factor cannot add its own second one.
        if methods and not self.verified():
            return HttpResponseRedirect(_challenge_url(self.tenant, here))
        action = request.POST.get("action")
        if action == "backup_codes":
            _method, codes = mfa_services.backup_codes_create(actor=self.actor, user=self.tenant_user)
            return render(request, "directory/mfa/backup_codes.html", self.context(codes=codes))
        if action == "delete":
            method = next((m for m in methods if str(m.pk) == request.POST.get("method")), None)
            if method is None:
                raise Http404(_("No such method."))
            try:
                mfa_services.authentication_method_delete(
                    actor=self.actor, user=self.tenant_user, method=method,
                    recently_verified=_recently_verified(request.session, self.tenant))
            except PermissionDenied:
                messages.info(request, _("Verify your identity again before you remove your last method."))
                return HttpResponseRedirect(_challenge_url(self.tenant, here))
            messages.success(request, _("The method was removed."))
        return HttpResponseRedirect(here)


class TotpRegisterView(MfaPanelView):
    """Register an authenticator app: scan the QR code (drawn here), type the code it shows."""

    section = "security-info"
    template_name = "directory/mfa/totp_register.html"
    # The first method is registered with the first factor alone (Entra's combined registration);
    # adding another needs MFA, which the view asks itself.
    access_resource = access.REGISTER_SECURITY_INFO
    meets_requirements = True

    def _guard(self):
        if self.methods() and not self.verified():
            return HttpResponseRedirect(_challenge_url(self.tenant, self.request.get_full_path()))
        return None

    def _key(self) -> str:
        pending = dict(self.request.session.get(PENDING_KEY) or {})
        key = pending.get(str(self.tenant.pk))
        if not key:
            key = pending[str(self.tenant.pk)] = mfa_services.totp_new_key()
            self.request.session[PENDING_KEY] = pending
        return key

    def _page(self, key: str, status: int = 200, **extra):
        url = mfa_services.totp_config_url(key=key, user=self.tenant_user)
        secret = url.split("secret=", 1)[1].split("&", 1)[0]
        return self.render(status, qr=qr_svg(url), secret=secret,
                           next=_safe_next(self.request, reverse("directory:security_info", args=[self.tenant.slug])),
                           combined=bool(self.request.GET.get("next") or self.request.POST.get("next")), **extra)

    def get(self, request):
        return self._guard() or self._page(self._key())

    def post(self, request):
        guard = self._guard()
        if guard:
            return guard
        key = self._key()
        try:
            method = mfa_services.totp_register(actor=self.actor, user=self.tenant_user, key=key,
                                                token=request.POST.get("token", ""))
        except ValidationError as exc:
            error = exc.message_dict.get("token", exc.messages)[0]
            return self._page(key, status=400, error=error)
        pending = dict(request.session.get(PENDING_KEY) or {})
        pending.pop(str(self.tenant.pk), None)
        request.session[PENDING_KEY] = pending
        # Registering proved possession of the app: it answers the MFA requirement of this sign-in too.
        _satisfy(request, self.tenant, method)
        messages.success(request, _("Your authenticator app is set up."))
        return HttpResponseRedirect(_safe_next(request, reverse("directory:security_info", args=[self.tenant.slug])))


#: How each kind of method is named in the sign-in log's authentication methods.
_FACTOR_NAMES = {AuthenticationMethod.Kind.TOTP: "totp", AuthenticationMethod.Kind.BACKUP_CODES: "backupCode",
                 AuthenticationMethod.Kind.PASSKEY: "passkey"}


def _satisfy(request, tenant, method: AuthenticationMethod) -> None:
    """The session met MFA in ``tenant``, and every authentication strength ``method`` has."""
    record_second_factor(request, request.user, tenant, _FACTOR_NAMES.get(method.kind, "mfa"))
    access.mark_satisfied(request.session, tenant, "mfa")
    for strength in method.strengths:
        access.mark_satisfied(request.session, tenant, f"authenticationStrength:{strength}")


class ChallengeView(MfaPanelView):
    """The requirement handler for "mfa" and "authenticationStrength:<strength>"."""

    section = "security-info"
    template_name = "directory/mfa/challenge.html"
    meets_requirements = True  # this page is how the requirement is met

    def _requirement(self) -> tuple[str, str]:
        requirement = self.request.POST.get("requirement") or self.request.GET.get("requirement") or "mfa"
        kind, _sep, strength = requirement.partition(":")
        if kind == "authenticationStrength" and strength in STRENGTHS:
            return requirement, strength
        return "mfa", "mfa"

    def _qualifying(self, strength: str):
        return [m for m in self.methods() if strength in m.strengths]

    def render(self, status: int = 200, **extra):
        qualifying = self._qualifying(extra.get("strength", "mfa"))
        kinds = {m.kind for m in qualifying}
        return super().render(status, has_passkey=AuthenticationMethod.Kind.PASSKEY in kinds,
                              has_code=bool(kinds - {AuthenticationMethod.Kind.PASSKEY}), **extra)

    def get(self, request):
        requirement, strength = self._requirement()
        next_url = _safe_next(request, reverse("directory:panel", args=[self.tenant.slug]))
        if not self._qualifying(strength):
            if strength == "mfa":  # combined registration: register a method, which answers the challenge
                return HttpResponseRedirect(f"{reverse('directory:mfa_totp_register', args=[self.tenant.slug])}?"
                                            f"{urlencode({'next': next_url})}")
            # A stronger method is asked for: a passkey (registering one needs MFA first when the person has
            # another method; the registration page asks for it).
            register = (f"{reverse('directory:mfa_passkey_register', args=[self.tenant.slug])}?"
                        f"{urlencode({'next': next_url})}")
            return self.render(status=403, cannot=True, strength=strength, next=next_url, requirement=requirement,
                               register_passkey=register)
        return self.render(next=next_url, requirement=requirement, strength=strength)

    def post(self, request):
        requirement, strength = self._requirement()
        next_url = _safe_next(request, reverse("directory:panel", args=[self.tenant.slug]))
        try:
            method = mfa_services.mfa_verify(actor=self.actor, user=self.tenant_user,
                                             token=request.POST.get("token", ""), strength=strength)
        except mfa_services.MfaThrottled as exc:
            return self.render(status=429, next=next_url, requirement=requirement, strength=strength,
                               error=_("Too many wrong codes. Wait %(seconds)s seconds, then try again.")
                               % {"seconds": exc.seconds})
        if method is None:
            return self.render(status=400, next=next_url, requirement=requirement, strength=strength,
                               error=_("That code is not right. Try again."))
        _satisfy(request, self.tenant, method)
        return HttpResponseRedirect(next_url)


def _passkey_state(request, purpose: str, tenant, state: dict | None = None) -> dict | None:
    """Keep (``state`` given) or take (and forget: a challenge is answered once) a WebAuthn challenge."""
    store = dict(request.session.get(PASSKEY_STATE_KEY) or {})
    key = f"{purpose}:{tenant.pk}"
    if state is not None:
        store[key] = state
        request.session[PASSKEY_STATE_KEY] = store
        return state
    found = store.pop(key, None)
    request.session[PASSKEY_STATE_KEY] = store
    return found


def _json_body(request):
    try:
        return json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None


def _json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": str(message)}, status=status)


class PasskeyRegisterView(TotpRegisterView):
    """Register a passkey or security key: the page with its button (static/js/passkey.js asks the
    browser), ``?options`` gives WebAuthn's creation options, a JSON POST the browser's answer. Like the
    authenticator app, the first method needs only the first factor; another needs MFA first."""

    template_name = "directory/mfa/passkey_register.html"

    def get(self, request):
        guard = self._guard()
        if guard:
            return guard
        next_url = _safe_next(request, reverse("directory:security_info", args=[self.tenant.slug]))
        return self.render(next=next_url, combined=bool(request.GET.get("next")))

    def post(self, request):
        if self.methods() and not self.verified():
            return _json_error(_("Verify your identity first."), status=403)
        if request.GET.get("step") == "options":
            options, state = mfa_services.passkey_registration_options(actor=self.actor, user=self.tenant_user)
            _passkey_state(request, "register", self.tenant, state)
            return JsonResponse(options)
        body = _json_body(request)
        if not isinstance(body, dict):
            return _json_error(_("The passkey answer could not be read."))
        try:
            method = mfa_services.passkey_register(
                actor=self.actor, user=self.tenant_user, state=_passkey_state(request, "register", self.tenant),
                credential=body.get("credential"), name=str(body.get("name") or ""))
        except mfa_services.PasskeyRefused as exc:
            return _json_error(exc.message)
        # Creating the passkey proved possession of it: it answers this sign-in's MFA requirement too.
        _satisfy(request, self.tenant, method)
        messages.success(request, _("Your passkey is set up."))
        return JsonResponse({"redirect": _safe_next(request, reverse("directory:security_info",
                                                                       args=[self.tenant.slug]))})


class PasskeyVerifyView(ChallengeView):
    """The challenge answered with a passkey: ``?step=options`` gives WebAuthn's request options (this
    tenant's passkeys only); a JSON POST the browser's assertion. Only MFA for this tenant is recorded:
    the person is signed in already, and a passkey here never signs anyone in by itself."""

    def get(self, request):
        raise Http404

    def post(self, request):
        _requirement, strength = self._requirement()
        next_url = _safe_next(request, reverse("directory:panel", args=[self.tenant.slug]))
        if request.GET.get("step") == "options":
            if not any(m.kind == AuthenticationMethod.Kind.PASSKEY for m in self._qualifying(strength)):
                return _json_error(_("You have no passkey registered here."), status=404)
            options, state = mfa_services.passkey_authentication_options(actor=self.actor, user=self.tenant_user)
            _passkey_state(request, "verify", self.tenant, state)
            return JsonResponse(options)
        body = _json_body(request)
        if not isinstance(body, dict):
            return _json_error(_("The passkey answer could not be read."))
        method = mfa_services.passkey_verify(actor=self.actor, user=self.tenant_user,
                                             state=_passkey_state(request, "verify", self.tenant),
                                             credential=body.get("credential"))
        if method is None or strength not in method.strengths:
            return _json_error(_("That passkey could not be verified. Try again."))
        _satisfy(request, self.tenant, method)
        return JsonResponse({"redirect": next_url})


register_section(Section(key="security-info", label=gettext_lazy("Security info"),
                         url_name="directory:security_info", order=90))
