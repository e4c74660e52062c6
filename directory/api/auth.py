from allauth.idp.oidc.contrib.rest_framework.authentication import TokenAuthentication
from allauth.idp.oidc.models import Token
from rest_framework.exceptions import AuthenticationFailed

from ..actors import Actor
from ..models import AppRegistration
from ..net import client_ip
from ..tokens import TokenRefused, check_account, check_app, check_issued_after_revocation


class GraphTokenAuthentication(TokenAuthentication):
    """Bearer tokens from our own OAuth server (allauth.idp.oidc), mapped to a tenant principal.

    Checked on every call (``directory.tokens``, the rule the token endpoint applies too), so that
    disabling an app, a user or an account, or revoking a permission, takes effect at once — not when the
    token expires."""

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
        try:
            app = check_app(app, with_secret=account is None)  # an app-only token stands for the secret
            user = None if account is None else check_account(app, account)
            if user is not None:
                check_issued_after_revocation(user, token.created_at)
        except TokenRefused as refused:
            raise AuthenticationFailed(str(refused)) from None
        ip = client_ip(request)
        if user is None:
            return None, Actor.for_app(app, ip=ip)
        return account, Actor.for_user(user, app=app, scopes=token.get_scopes(), ip=ip)

    def authenticate_header(self, request):
        return 'Bearer realm="graph"'


