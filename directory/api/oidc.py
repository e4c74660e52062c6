from allauth.idp.oidc.adapter import DefaultOIDCAdapter

from ..authz import DELEGATED_PERMISSIONS


class OIDCAdapter(DefaultOIDCAdapter):
    """Our OAuth server: Graph permission names are its scopes (shown on the consent screen)."""

    scope_display = {
        **DefaultOIDCAdapter.scope_display,
        **{name: name for name in DELEGATED_PERMISSIONS},
        ".default": "The permissions an administrator granted this application",
    }
