"""This deployment as the identity provider of another deployment (DESIGN §6): a tenant on deployment B
registers this deployment by its issuer, with a client id and secret registered here for it.

A federation client is an allauth OIDC ``Client`` whose ``data["federation"]`` names the partner: the other
deployment's issuer, the partner tenant's id there and its name. When one of our members signs in for it:

- the member's **home tenant** here is the tenant where their account is a member (not invited);
- that tenant's conditional access runs (resource TOKEN), so its "require MFA" is answered here;
- its **outbound** cross-tenant settings toward the partner tenant decide before we answer
  (``register_outbound_rule``: ``policies`` answers); a refusal is a page here and OAuth's
  ``access_denied`` with the reason for the other deployment to show;
- the ID token carries ``tid`` (the home tenant's id) and ``amr`` (``pwd``, plus ``mfa`` when this session
  answered MFA in the home tenant), saved with the authorization code at the moment of consent.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from . import access
from .actors import Actor
from .audit import Change, Target, audit, register_activities, register_target_type
from .hashers import hash_client_secret
from .models import User
from .signin import session_authentication_methods

register_activities("ApplicationManagement", {"Add federation client": "Add"})

_outbound_rules: list[Callable] = []
MFA_METHODS = ("totp", "backupCode", "passkey")


def register_outbound_rule(rule: Callable) -> None:
    """``rule(*, home_user, partner) -> str | None``: why ``home_user`` may not go to ``partner`` (a dict
    with issuer, tenant_id, name), or None. ``policies`` registers the outbound cross-tenant settings."""
    if rule not in _outbound_rules:
        _outbound_rules.append(rule)


def outbound_refusal(*, home_user: User, partner: dict) -> str | None:
    for rule in _outbound_rules:
        reason = rule(home_user=home_user, partner=partner)
        if reason:
            return reason
    return None


def partner_of(client) -> dict | None:
    """The partner a federation client stands for, or None (an app registration, another OAuth client)."""
    data = getattr(client, "data", None) or {}
    partner = data.get("federation") if isinstance(data, dict) else None
    return partner if isinstance(partner, dict) and partner.get("issuer") else None


def home_user_of(account) -> User | None:
    """The account's member user in its home tenant here (None: no organization account here)."""
    return (User.objects.active().filter(account=account, user_type=User.UserType.MEMBER, account_enabled=True)
            .exclude(creation_type=User.CreationType.INVITATION).select_related("tenant").order_by("created_at").first())


def id_token_claims(request, *, home_user: User) -> dict:
    """``tid`` and ``amr`` for an ID token issued now to this session's member."""
    tenant = home_user.tenant
    methods = session_authentication_methods(request, home_user.account, tenant)
    amr = ["pwd"] if "password" in methods else (["otp"] if "code" in methods else [])
    if any(m in methods for m in MFA_METHODS) or "mfa" in access.satisfied(request.session, tenant):
        amr.append("mfa")
    return {"tid": str(tenant.pk), "amr": amr}


def _redirect_uri(value: str) -> str:
    parts = urlsplit(value or "")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme not in ("https", "http") or (parts.scheme == "http" and not loopback) or not parts.hostname:
        raise ValidationError("The redirect URI must be an https:// URL (http:// on this machine only).")
    return value


@transaction.atomic
def federation_client_register(*, actor: Actor, partner_issuer: str, partner_tenant_id: str, partner_name: str,
                               redirect_uris: list[str]) -> tuple[str, str]:
    """Register another deployment's tenant as a client of this deployment's identity provider. Returns
    (client id, client secret): the secret is shown this once and stored only hashed. Platform operators
    only (the identity provider is the deployment's, not a tenant's)."""
    from allauth.idp.oidc.models import Client

    register_target_type(Client, "Application")
    if not actor.is_platform:
        raise ValidationError("Only the platform operator registers federation clients.")
    try:
        tenant_id = str(uuid.UUID(str(partner_tenant_id)))
    except ValueError:
        raise ValidationError("The partner tenant id must be a GUID.") from None
    issuer = _redirect_uri(partner_issuer).rstrip("/")
    if not partner_name or len(partner_name) > 100 or "\x00" in partner_name:
        raise ValidationError("Give the partner a name of at most 100 characters.")
    if not redirect_uris:
        raise ValidationError("Give at least one redirect URI.")
    client = Client(name=partner_name, type=Client.Type.CONFIDENTIAL, skip_consent=True,
                    data={"federation": {"issuer": issuer, "tenant_id": tenant_id, "name": partner_name}})
    client.set_redirect_uris([_redirect_uri(u) for u in redirect_uris])
    client.set_response_types(["code"])
    client.set_grant_types([Client.GrantType.AUTHORIZATION_CODE])
    client.set_scopes(["openid", "email", "profile"])
    client.set_default_scopes(["openid", "email", "profile"])
    secret = secrets.token_urlsafe(32)
    client.secret = hash_client_secret(secret)
    client.full_clean(exclude=["secret"])
    client.save()
    audit(tenant=None, actor=actor, activity="Add federation client",
          targets=[Target(client, [Change("issuer", None, issuer), Change("tenantId", None, tenant_id)])])
    return client.id, secret
