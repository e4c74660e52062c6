from allauth.idp.oidc import app_settings as oidc_settings
from allauth.idp.oidc.adapter import DefaultOIDCAdapter
from allauth.idp.oidc.internal.oauthlib.request_validator import OAuthLibRequestValidator
from allauth.idp.oidc.internal.oauthlib.server import (
    OAuthLibServer,
    generate_access_token,
    generate_refresh_token,
)
from allauth.idp.oidc.internal.oauthlib.utils import convert_response, extract_params
from allauth.idp.oidc.views import TokenView
from oauthlib.openid import Server

from ..authz import DELEGATED_PERMISSIONS
from ..models import AppRegistration
from ..tokens import TokenRefused, check_account, check_app


class OIDCAdapter(DefaultOIDCAdapter):
    """Our OAuth server: Graph permission names are its scopes (shown on the consent screen)."""

    scope_display = {
        **DefaultOIDCAdapter.scope_display,
        **{name: name for name in DELEGATED_PERMISSIONS},
        ".default": "The permissions an administrator granted this application",
    }


class GraphRequestValidator(OAuthLibRequestValidator):
    """allauth's validator, plus ``directory.tokens``' rule for clients that are app registrations.

    allauth's adapter has no hook at the token endpoint, so the rule is added here: a disabled app or one
    whose secret expired fails client authentication (``invalid_client``); a refresh token or an
    authorization code of an account that is disabled, or has no enabled user in the app's tenant, is an
    ``invalid_grant``. OAuth clients that are not app registrations (federation with other deployments)
    keep allauth's checks only."""

    def authenticate_client(self, request, *args, **kwargs) -> bool:
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        app = _registration(request.client)
        if app is None:
            return True
        try:
            check_app(app, with_secret=True)
        except TokenRefused:
            return False
        return True

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs) -> bool:
        return super().validate_refresh_token(refresh_token, client, request, *args, **kwargs) and _may_act(
            client, request.user)

    def validate_code(self, client_id, code, client, request, *args, **kwargs) -> bool:
        return super().validate_code(client_id, code, client, request, *args, **kwargs) and _may_act(
            client, request.user)


def _registration(client) -> AppRegistration | None:
    return AppRegistration.objects.filter(client_id=client.pk).first()


def _may_act(client, account) -> bool:
    app = _registration(client)
    if app is None:
        return True
    try:
        check_account(check_app(app, with_secret=False), account)
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
    """allauth's token endpoint on ``GraphOAuthServer`` (mounted in config/urls.py at allauth's path)."""

    def _create_token_response(self, request, *, user=None, data=None):
        orequest = extract_params(request)
        oresponse = GraphOAuthServer(
            pre_token=[lambda orequest: self._pre_token(orequest, user, data)],
        ).create_token_response(*orequest)
        return convert_response(*oresponse)
