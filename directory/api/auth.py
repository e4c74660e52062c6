from allauth.idp.oidc.contrib.rest_framework.authentication import TokenAuthentication
from allauth.idp.oidc.models import Token
from rest_framework.exceptions import AuthenticationFailed

from ..actors import Actor
from ..models import AppRegistration
from ..selectors import tenant_user_for_account


class GraphTokenAuthentication(TokenAuthentication):
    """Bearer tokens from our own OAuth server (allauth.idp.oidc), mapped to a tenant principal.

    Checked on every call, so that disabling an app, a user or an account, or revoking a permission,
    takes effect at once — not when the token expires."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        if not header.lower().startswith("bearer ") or len(header) > 4096:
            raise AuthenticationFailed("The Authorization header must be 'Bearer <token>'.")
        result = super().authenticate(request)
        if result is None:
            raise AuthenticationFailed("Access token has expired or is not yet valid.")
        account, token = result
        if not isinstance(token, Token) or token.client_id is None:
            raise AuthenticationFailed("Access token is not valid for this API.")
        app = AppRegistration.objects.select_related("tenant").filter(client_id=token.client_id).first()
        if app is None or not app.enabled:
            raise AuthenticationFailed("The application is disabled or unknown.")
        if account is None:
            if app.secret_expired:
                raise AuthenticationFailed("The application's credential has expired.")
            return None, Actor.for_app(app)
        if not account.is_active:
            raise AuthenticationFailed("The account is disabled.")
        user = tenant_user_for_account(tenant=app.tenant, account=account)
        if user is None or not user.account_enabled:
            raise AuthenticationFailed("The signed-in user has no enabled user object in this tenant.")
        return account, Actor.for_user(user, app=app, scopes=token.get_scopes())

    def authenticate_header(self, request):
        return 'Bearer realm="graph"'


