import contextlib
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

from allauth.core import context
from allauth.idp.oidc import app_settings as oidc_settings
from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from allauth.idp.oidc.internal.oauthlib.request_validator import OAuthLibRequestValidator
from allauth.idp.oidc.internal.oauthlib.server import (
    OAuthLibServer,
    generate_access_token,
    generate_refresh_token,
)
from allauth.idp.oidc.internal.oauthlib.utils import convert_response, extract_params, get_validator_context
from allauth.idp.oidc.models import Client
from allauth.idp.oidc.views import AuthorizationView, TokenView
from django.core.cache import cache
from django.http import HttpResponseRedirect
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.openid import Server

from .. import access
from ..authz import DELEGATED_PERMISSIONS
from ..enforcement import access_request_for, decide, enforce
from ..federation_clients import home_user_of, id_token_claims, outbound_refusal, partner_of
from ..models import AppRegistration
from ..tokens import TokenRefused, check_account, check_app, check_issued_after_revocation
from ..unavailable import CacheUnavailable
from . import rows


class OIDCAdapter(DefaultOIDCAdapter):
    """Our OAuth server: Graph permission names are its scopes (shown on the consent screen)."""

    scope_display = {
        **DefaultOIDCAdapter.scope_display,
        **{name: name for name in DELEGATED_PERMISSIONS},
        ".default": "The permissions an administrator granted this application",
    }

    def populate_id_token(self, id_token, client, scopes, **kwargs) -> None:
        # A federation client's ID token carries the member's home tenant (tid) and how the session signed
        # in there (amr), as saved with the authorization code (directory/federation_clients.py).
        claims = getattr(get_validator_context(), "federation_claims", None)
        if claims and partner_of(client) is not None:
            id_token.update({"tid": claims.get("tid"), "amr": list(claims.get("amr") or [])})


class GraphRequestValidator(OAuthLibRequestValidator):
    """allauth's validator, plus ``directory.tokens``' rule for clients that are app registrations.

    allauth's adapter has no hook at the token endpoint, so the rule is added here: a disabled app or one
    whose secret expired fails client authentication (``invalid_client``); a refresh token or an
    authorization code of an account that is disabled, or has no enabled user in the app's tenant, is an
    ``invalid_grant``. OAuth clients that are not app registrations (federation with other deployments)
    keep allauth's checks only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._registrations: dict[str, AppRegistration | None] = {}  # this request's, by client id

    def _lookup_client(self, request, client_id):
        """The client and its app registration in one query (a join), where allauth's lookup and ours took
        one each: the token endpoint reads them on every token."""
        if oidc_settings.CIMD_ENABLED or not isinstance(client_id, str):
            return super()._lookup_client(request, client_id)
        clients = get_validator_context().clients
        if client_id not in clients:
            # One statement composed once per process (directory/api/rows.py): the ORM compiled this join
            # on every token. A unique key: no ORDER BY.
            app = rows.select_with_related(AppRegistration, "client", client_id)
            # Not an app registration (an OAuth client for federation with another deployment): allauth's.
            clients[client_id] = app.client if app is not None else Client.objects.filter(id=client_id).first()
            self._registrations[client_id] = app
        return clients[client_id]

    def save_authorization_code(self, client_id, code, request, *args, **kwargs) -> None:
        """A federation client's code also keeps the ID token's ``tid`` and ``amr``, taken from the session
        now (the token endpoint has no session); the outbound rule is asked once more here, so no path
        past the authorization page's check issues a code."""
        partner = partner_of(request.client)
        if partner is not None:
            from allauth.core import context
            from oauthlib.oauth2.rfc6749 import errors as oauth_errors

            home_user = home_user_of(request.user)
            refusal = _federation_refusal(home_user, partner)
            if refusal:
                raise oauth_errors.AccessDeniedError(description=refusal, request=request)
            code = {**code, "federation": id_token_claims(context.request, home_user=home_user)}
        return super().save_authorization_code(client_id, code, request, *args, **kwargs)

    def save_bearer_token(self, token, request, *args, **kwargs) -> None:
        """A client-credentials grant stores one access token: one INSERT, on its own (the endpoint opens no
        transaction for this grant, see GraphTokenView). Other grants: allauth's, unchanged."""
        if request.grant_type != "client_credentials" or token.get("refresh_token"):
            return super().save_bearer_token(token, request, *args, **kwargs)
        access_token = self._prep_access_token(get_validator_context(), token, request)
        access_token.set_scopes(request.scopes)
        rows.insert(access_token)  # the INSERT composed once per process (directory/api/rows.py)

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = request.client
        app = self._registrations[client.pk] if client.pk in self._registrations else _registration(client)
        if app is None:
            return True
        try:
            check_app(app, with_secret=True)
        except TokenRefused:
            return False
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        if not (super().validate_refresh_token(refresh_token, client, request, *args, **kwargs) and _may_act(
                client, request.user, issued_at=get_validator_context().refresh_token.created_at)):
            return False
        _reevaluate_on_refresh(request, client, get_validator_context().refresh_token)
        return True

    def _prep_refresh_token(self, ctx, refresh_token, request):
        token = super()._prep_refresh_token(ctx, refresh_token, request)
        app = self._registrations.get(request.client.pk) if request.client.pk in self._registrations else None
        satisfied = _carried_satisfied(ctx, app or _registration(request.client))
        if satisfied:
            token.data = {**(token.data if isinstance(token.data, dict) else {}), "caSatisfied": satisfied}
        return token

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        valid = super().validate_code(client_id, code, client, request, *args, **kwargs) and _may_act(
            client, request.user)
        if valid and partner_of(client) is not None:
            from allauth.idp.oidc.internal.oauthlib import authorization_codes

            saved = authorization_codes.lookup(client_id, code) or {}
            get_validator_context().federation_claims = (saved.get("code") or {}).get("federation")
        return valid


def _leave_through_page(request, response):
    """A federation client's answer (a 302 to the other deployment) becomes a page that moves on by itself:
    the way here began with a form (sign-in, MFA), whose ``form-action 'self'`` would stop the redirect."""
    location = response.get("Location", "") if response.status_code == 302 else ""
    if not location.startswith(("https://", "http://")):
        return response
    from ..federation import continue_elsewhere

    return continue_elsewhere(request, location)


def _log_federated_sign_in(request, home_user, refusal: str | None) -> None:
    """The member's sign-in for another deployment goes into the home tenant's sign-in log (resource TOKEN):
    a success, or a failure with the outbound settings' reason."""
    from ..access import AccessDecision
    from ..services.signins import sign_in_event_record

    access_request = access_request_for(request, home_user.tenant, user=home_user, resource=access.TOKEN)
    sign_in_event_record(access_request=access_request,
                         decision=AccessDecision(blocked=bool(refusal), reason=refusal or ""),
                         failure_reason=refusal or "")


def _federation_refusal(home_user, partner: dict) -> str | None:
    from django.utils.translation import gettext as _

    if home_user is None:
        return _("You have no organization account on this deployment, so it cannot sign you in to %(org)s.") % {
            "org": partner.get("name") or partner.get("issuer")}
    return outbound_refusal(home_user=home_user, partner=partner)


class InteractionRequired(oauth_errors.OAuth2Error):
    """OAuth's ``interaction_required`` (OpenID Connect Core §3.1.2.6), at the token endpoint: the grant is
    good, but conditional access asks for something only the person can do (MFA, terms of use)."""

    error = "interaction_required"
    status_code = 400


CODE_SATISFIED_KEY = "ca:code:{}"


def _code_key(code: str) -> str:
    return CODE_SATISFIED_KEY.format(hashlib.sha256(code.encode()).hexdigest())


def _carried_satisfied(ctx, app) -> dict:
    """What the grant being exchanged carried: the old refresh token's; else what the session had met in
    the app's tenant when the authorization code was issued (kept beside the code by the authorization view)."""
    if ctx.refresh_token is not None:
        data = ctx.refresh_token.data
        return dict(data.get("caSatisfied") or {}) if isinstance(data, dict) else {}
    if app is None:
        return {}
    for _client_id, code in ctx.codes:
        stored = cache.get(_code_key(code)) or {}
        if str(app.tenant_id) in stored:
            return dict(stored[str(app.tenant_id)])
    return {}


def _reevaluate_on_refresh(orequest, client, refresh_token) -> None:
    """Conditional access again when a refresh token buys a new access token (Entra re-evaluates then,
    non-interactively, on the claims the token carries: here the requirements met when it was first
    authorized). A block is ``invalid_grant`` with the reason; an unmet requirement, which only the person
    can meet, ``interaction_required``. Either is logged as a failed non-interactive sign-in; a token that
    passes is logged by ``_log_delegated_token`` with this decision."""
    from ..access import AccessRequest, evaluate_access
    from ..net import client_ip
    from ..services.signins import sign_in_event_record

    app = _registration(client)
    http_request = context.request
    if app is None or http_request is None:
        return
    user = _tenant_user(app, orequest.user)
    if user is None:
        return
    satisfied = {str(k): float(v) for k, v in ((refresh_token.data or {}).get("caSatisfied") or {}).items()
                 if isinstance(v, (int, float))} if isinstance(refresh_token.data, dict) else {}
    from django.utils import timezone

    access_request = AccessRequest(
        tenant=app.tenant, user=user, account=orequest.user, resource=access.TOKEN, ip=client_ip(http_request),
        client_app_type="mobileAppsAndDesktopClients", user_agent=http_request.META.get("HTTP_USER_AGENT", "")[:512],
        satisfied=frozenset(satisfied), satisfied_at=satisfied, authentication_methods=frozenset({"refreshToken"}),
        now=timezone.now())
    decision = evaluate_access(access_request)
    orequest.conditional_access = (access_request, decision)
    if decision.allowed:
        return
    if decision.blocked:
        reason = decision.reason or "Access is blocked by conditional access."
        sign_in_event_record(access_request=access_request, decision=decision, is_interactive=False,
                             failure_reason=reason, error_code=53003)  # AADSTS53003: blocked by CA
        raise oauth_errors.InvalidGrantError(description=f"AADSTS53003: {reason}", request=orequest)
    reason = "Conditional access requires the user to sign in interactively: " + ", ".join(
        sorted(decision.requirements))
    sign_in_event_record(access_request=access_request, decision=decision, is_interactive=False,
                         failure_reason=reason, error_code=50076)  # AADSTS50076: MFA (interaction) required
    raise InteractionRequired(description=f"AADSTS50076: {reason}", request=orequest)


def _remember_satisfied(request, response):
    """A code just issued remembers what this session had met for conditional access (requirement -> when,
    per tenant), so the tokens it buys, and their refreshes, are judged on it."""
    location = response.get("Location", "") if response.status_code in (301, 302) else ""
    code = parse_qs(urlsplit(location or "").query).get("code")
    if code and request.user.is_authenticated:
        with contextlib.suppress(CacheUnavailable):  # then nothing travels: a refresh may ask for interaction
            cache.set(_code_key(code[0]), dict(request.session.get(access.SESSION_KEY) or {}),
                      timeout=oidc_settings.AUTHORIZATION_CODE_EXPIRES_IN)
    return response


def _tenant_user(app: AppRegistration, account):
    from ..selectors import tenant_user_for_account

    return tenant_user_for_account(tenant=app.tenant, account=account)


def _registration(client) -> AppRegistration | None:
    return AppRegistration.objects.filter(client_id=client.pk).first()


def _may_act(client, account, *, issued_at=None) -> bool:
    """May ``account`` act through ``client``; with ``issued_at`` (a refresh token's), was that token
    issued after the user's sign-in sessions were last revoked?"""
    app = _registration(client)
    if app is None:
        return True
    try:
        user = check_account(check_app(app, with_secret=False), account)
        if issued_at is not None:
            check_issued_after_revocation(user, issued_at)
    except TokenRefused:
        return False
    return True


class GraphOAuthServer(OAuthLibServer):
    def __init__(self, **kwargs):
        # allauth's server with our validator: the same arguments OAuthLibServer passes.
        Server.__init__(self, token_generator=generate_access_token, refresh_token_generator=generate_refresh_token,
                        request_validator=GraphRequestValidator(),
                        token_expires_in=oidc_settings.ACCESS_TOKEN_EXPIRES_IN, **kwargs)


class GraphTokenView(TokenView):
    """allauth's token endpoint on ``GraphOAuthServer`` (mounted in config/urls.py at allauth's path).

    A client-credentials grant reads the client (one query) and writes one token row (one INSERT,
    atomic by itself): it runs without allauth's transaction block around the request, whose BEGIN and
    COMMIT were two more round trips to the database on the most frequent request there is. The grants
    that write several rows (codes, refresh tokens and their rotation, device codes) keep it."""

    def post(self, request):
        if request.POST.get("grant_type") == "client_credentials":
            return TokenView.post.__wrapped__(self, request)  # allauth's handler without @transaction.atomic
        return super().post(request)

    def _create_token_response(self, request, *, user=None, data=None):
        orequest = extract_params(request)
        server = GraphOAuthServer(pre_token=[lambda orequest: self._pre_token(orequest, user, data)])
        # After a code or refresh token is validated (it named its user), before the token is made. The
        # pre-configured server passes its keyword validators to the device grant only.
        for grant in (server.auth_grant, server.openid_connect_auth, server.refresh_grant):
            grant.custom_validators.post_token.append(lambda orequest: _log_delegated_token(request, orequest))
        oresponse = server.create_token_response(*orequest)
        return convert_response(*oresponse)


def _log_delegated_token(http_request, orequest) -> None:
    """A delegated token issued to an app registration goes into its tenant's sign-in log, as a
    non-interactive sign-in (the interactive one was the authorization). App-only tokens are not sign-ins
    of a person and are not logged here."""
    from ..access import AccessDecision, AccessRequest
    from ..services.signins import sign_in_event_record

    account = getattr(orequest, "user", None)
    if account is None:
        return
    app = AppRegistration.objects.filter(client_id=getattr(orequest, "client_id", None) or "").select_related(
        "tenant").first()
    if app is None:
        return
    user = _tenant_user(app, account)
    if user is None:
        return
    from ..net import client_ip

    evaluated = getattr(orequest, "conditional_access", None)  # a refresh: judged again just before
    if evaluated is not None:
        sign_in_event_record(access_request=evaluated[0], decision=evaluated[1], is_interactive=False)
        return
    sign_in_event_record(
        access_request=AccessRequest(tenant=app.tenant, user=user, account=account, resource=access.TOKEN,
                                     ip=client_ip(http_request), client_app_type="mobileAppsAndDesktopClients",
                                     user_agent=http_request.META.get("HTTP_USER_AGENT", "")[:512]),
        decision=AccessDecision(), is_interactive=False)


class GraphAuthorizationView(AuthorizationView):
    """allauth's authorization endpoint, entered like a tenant (DESIGN §6): before a code or an ID token
    is issued to an app registration for the signed-in person, the app's tenant evaluates the session
    (resource TOKEN): a block shows the block page, an unmet requirement sends the person to meet it
    and back here; with ``prompt=none`` nobody can be asked, so the app gets OAuth's
    ``interaction_required`` instead."""

    def get(self, request, *args, **kwargs):
        prompts = (request.GET.get("prompt") or "").split()
        if request.user.is_authenticated and "login" not in prompts:
            app = AppRegistration.objects.filter(client_id=request.GET.get("client_id") or "").select_related(
                "tenant", "client").first()
            # Not an app registration: maybe another deployment's tenant (a federation client).
            client = Client.objects.filter(id=request.GET.get("client_id") or "").first() if app is None else None
            partner = partner_of(client) if client is not None else None
            if partner is not None:
                response = self._federation(request, prompts, client, partner)
                if response is not None:
                    return response
                return _leave_through_page(request, super().get(request, *args, **kwargs))
            user = _tenant_user(app, request.user) if app is not None else None
            if user is not None:
                response = (self._silent_refusal(request, app, user) if "none" in prompts
                            else enforce(request, app.tenant, user, resource=access.TOKEN))
                if response is not None:
                    return response
        return _remember_satisfied(request, super().get(request, *args, **kwargs))

    def post(self, request, *args, **kwargs):
        return _remember_satisfied(request, super().post(request, *args, **kwargs))

    def form_valid(self, form):
        """allauth's, on ``GraphOAuthServer`` (our validator saves a federation client's ID token claims with
        the code, and refuses there once more)."""
        from allauth.idp.oidc.views import respond_html_error
        from oauthlib.oauth2.rfc6749 import errors as oauth_errors

        orequest = extract_params(self.request)
        credentials = {"user": self.request.user, **self._request_info}
        credentials.pop("resources", None)
        ctx = get_validator_context()
        ctx.requested_resources = self._request_info.get("resources")
        try:
            if email := form.cleaned_data.get("email"):
                ctx.email = email
            oresponse = GraphOAuthServer().create_authorization_response(
                *orequest, scopes=form.cleaned_data["scopes"], credentials=credentials)
            return convert_response(*oresponse)
        except oauth_errors.FatalClientError as exc:
            return respond_html_error(self.request, error=exc)
        except oauth_errors.OAuth2Error as exc:
            redirect_uri = self._request_info.get("redirect_uri") or ""
            params = {"error": exc.error, "error_description": exc.description or ""}
            if self._request_info.get("state"):
                params["state"] = self._request_info["state"]
            response = HttpResponseRedirect(redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params))
            response.allowed_schemes = [urlsplit(redirect_uri).scheme]
            return response

    def _federation(self, request, prompts, client, partner):
        """Another deployment signs one of our members in (a federation client): the member's home tenant's
        conditional access, then its outbound cross-tenant settings, before we answer. A refusal is a page
        here that says why, with the way back to the other deployment (OAuth's ``access_denied`` and the
        reason, which it shows)."""
        redirect_uri = request.GET.get("redirect_uri") or ""
        if redirect_uri not in client.get_redirect_uris():
            return None  # allauth answers an unregistered redirect URI with its own error page
        home_user = home_user_of(request.user)
        if home_user is not None and "none" not in prompts:
            response = enforce(request, home_user.tenant, home_user, resource=access.TOKEN)
            if response is not None:
                return response
        refusal = _federation_refusal(home_user, partner)
        if home_user is not None:
            _log_federated_sign_in(request, home_user, refusal)
        if not refusal:
            return None
        params = {"error": "access_denied", "error_description": refusal}
        if request.GET.get("state"):
            params["state"] = request.GET["state"]
        back = redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(params)
        from django.shortcuts import render

        from ..selectors import branding_for

        tenant = home_user.tenant if home_user is not None else None
        return render(request, "directory/federation_refused.html", {
            "tenant": tenant, "branding": branding_for(tenant, (request.LANGUAGE_CODE or "en")[:2]) if tenant else None,
            "reason": refusal, "back_url": back, "partner_name": partner.get("name", "")}, status=403)

    def _silent_refusal(self, request, app, user):
        decision = decide(request, access_request_for(request, app.tenant, user=user, resource=access.TOKEN))
        if decision.allowed:
            return None
        redirect_uri = request.GET.get("redirect_uri") or ""
        if redirect_uri not in app.client.get_redirect_uris():
            return None  # answer only to a redirect URI the client registered; allauth answers the rest
        params = {"error": "interaction_required",
                  "error_description": "Conditional access requires the user to sign in interactively."}
        if request.GET.get("state"):
            params["state"] = request.GET["state"]
        separator = "&" if "?" in redirect_uri else "?"
        response = HttpResponseRedirect(redirect_uri + separator + urlencode(params))
        response.allowed_schemes = [urlsplit(redirect_uri).scheme]  # native apps' custom schemes too
        return response
