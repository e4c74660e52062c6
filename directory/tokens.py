"""API tokens: who may hold and use one, and taking them back when that changes.

Tokens are issued by allauth's OpenID Connect provider (``allauth.idp.oidc``) and stored hashed in its
``Token`` table. One rule decides whether an app registration, and a signed-in account through it, may
get or use a token; the token endpoint (``directory.api.oidc``) and the API's authentication
(``directory.api.auth``) both ask it, so a token is refused at issue and at use for the same reasons.

Credential changes revoke what was issued under the old state, in the caller's transaction: a new client
secret or a disabled app deletes the client's access and refresh tokens; a disabled or deleted user
deletes its account's tokens for that tenant's apps (the account may be a guest of other tenants, whose
tokens stay).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.idp.oidc.models import Token

if TYPE_CHECKING:
    from .models import Account, AppRegistration, Tenant, User


class TokenRefused(Exception):
    """Why no token may be issued or used; the message is safe to show the client."""


def check_app(app: AppRegistration | None, *, with_secret: bool) -> AppRegistration:
    """The app, if it may get or use tokens. ``with_secret``: the call rests on the client secret (the
    token endpoint, and app-only tokens, which stand for the secret): an expired secret is refused too."""
    if app is None or not app.enabled:
        raise TokenRefused("The application is disabled or unknown.")
    if with_secret and app.secret_expired:
        raise TokenRefused("The application's credential has expired.")
    return app


def check_account(app: AppRegistration, account: Account | None) -> User:
    """The enabled, not deleted user object of ``account`` in the app's tenant, through which the account
    acts with a delegated token; refused when the account is disabled or has no such user."""
    from .selectors import tenant_user_for_account

    if account is None or not account.is_active:
        raise TokenRefused("The account is disabled.")
    user = tenant_user_for_account(tenant=app.tenant, account=account)
    if user is None or not user.account_enabled:
        raise TokenRefused("The signed-in user has no enabled user object in this tenant.")
    return user


def check_issued_after_revocation(user: User, issued_at) -> None:
    """A delegated token (access or refresh) issued before ``user.sign_in_sessions_valid_from`` is refused:
    Graph's revokeSignInSessions semantics. Resetting a redemption sets it (and unlinks the account, so
    its tokens fail ``check_account`` already); this keeps them dead once the same account redeems again."""
    valid_from = user.sign_in_sessions_valid_from
    if valid_from is not None and (issued_at is None or issued_at < valid_from):
        raise TokenRefused("The token was issued before the user's sign-in sessions were revoked.")


def revoke_client_tokens(*, client_id: str) -> int:
    """Delete every access and refresh token of one OAuth client. Returns how many went."""
    deleted, _ = Token.objects.filter(client_id=client_id, type__in=_ISSUED).delete()
    return deleted


def revoke_account_tokens(*, account_id, tenant: Tenant) -> int:
    """Delete the access and refresh tokens ``account_id`` holds through ``tenant``'s app registrations."""
    deleted, _ = Token.objects.filter(user_id=account_id, client__app_registration__tenant=tenant,
                                      type__in=_ISSUED).delete()
    return deleted


_ISSUED = [Token.Type.ACCESS_TOKEN, Token.Type.REFRESH_TOKEN]


def revoke_accounts_tokens(*, account_ids, tenant: Tenant) -> int:
    """:func:`revoke_account_tokens` for many accounts in one statement (set-based sweeps)."""
    account_ids = [pk for pk in account_ids if pk is not None]
    if not account_ids:
        return 0
    deleted, _ = Token.objects.filter(user_id__in=account_ids, client__app_registration__tenant=tenant,
                                      type__in=_ISSUED).delete()
    return deleted
