"""API clients of a tenant: an OAuth client of our IdP plus the Graph permissions granted to it."""

import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..actors import Actor
from ..audit import Change, Target, audit
from ..authz import APPLICATION_PERMISSIONS, DELEGATED_PERMISSIONS
from ..hashers import hash_client_secret
from ..models import AppRegistration, Tenant
from ..tokens import revoke_client_tokens
from ._common import _apply, authorize

MAX_REDIRECT_URIS = 10
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def validate_redirect_uris(uris) -> list[str]:
    """Redirect URIs of an app that signs users in: web addresses, https (http only for this machine:
    localhost, 127.0.0.1, [::1]), at most 10."""
    uris = [u.strip() for u in uris if u and u.strip()]
    if len(uris) > MAX_REDIRECT_URIS:
        raise ValidationError({"redirect_uris": _("At most 10 redirect URIs.")})
    validate = URLValidator(schemes=["https", "http"])
    for uri in uris:
        try:
            validate(uri)
        except ValidationError:
            raise ValidationError({"redirect_uris": _("“%(uri)s” is not a web address.") % {"uri": uri[:200]}}) from None
        parts = urlsplit(uri)
        if parts.username or parts.password:
            raise ValidationError({"redirect_uris": _("A redirect URI must not carry a user name or password.")})
        if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
            raise ValidationError({"redirect_uris": _("Use https:// (http:// only for localhost).")})
    return uris


def _validate_permissions(names, allowed, field: str) -> list[str]:
    names = sorted(set(names))
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValidationError({field: _("Unknown permission: %(name)s") % {"name": unknown[0]}})
    return names


@transaction.atomic
def app_registration_create(
    *, actor: Actor, tenant: Tenant, display_name: str, application_permissions=(),
    delegated_permissions=(), redirect_uris=(), secret_lifetime_days: int | None = 180,
):
    """Register an API client of ``tenant``. Returns (registration, client_id, secret): the secret is
    shown this once and stored only hashed."""
    from allauth.idp.oidc.models import Client

    authorize(actor, "Application.ReadWrite.All", tenant=tenant)
    redirect_uris = validate_redirect_uris(redirect_uris)
    if not display_name or len(display_name) > 256:
        raise ValidationError({"display_name": _("Give the app a name of at most 256 characters.")})
    app_perms = _validate_permissions(application_permissions, APPLICATION_PERMISSIONS, "application_permissions")
    del_perms = _validate_permissions(delegated_permissions, DELEGATED_PERMISSIONS, "delegated_permissions")
    client = Client(name=display_name[:100], type=Client.Type.CONFIDENTIAL, skip_consent=False)
    grants = [Client.GrantType.CLIENT_CREDENTIALS]
    if redirect_uris:
        grants += [Client.GrantType.AUTHORIZATION_CODE, Client.GrantType.REFRESH_TOKEN]
        client.set_redirect_uris(list(redirect_uris))
        client.set_response_types(["code"])
    client.set_grant_types(grants)
    client.set_scopes([".default", "openid", "profile", "email", *del_perms])
    client.set_default_scopes([".default"])
    secret = secrets.token_urlsafe(32)
    client.secret = hash_client_secret(secret)  # fast keyed hash: a generated secret (directory/hashers.py)
    client.full_clean(exclude=["secret"])
    client.save()
    registration = AppRegistration.objects.create(
        tenant=tenant, client=client, display_name=display_name, application_permissions=app_perms,
        delegated_permissions=del_perms,
        secret_expires_at=timezone.now() + timedelta(days=secret_lifetime_days) if secret_lifetime_days else None,
    )
    audit(tenant=tenant, actor=actor, activity="Add application",
          targets=[Target(registration, [Change("applicationPermissions", None, app_perms),
                                         Change("delegatedPermissions", None, del_perms)])])
    return registration, client.id, secret


@transaction.atomic
def app_registration_new_secret(*, actor: Actor, registration, secret_lifetime_days: int | None = 180):
    """Replace the client secret (the old one stops working at once). Returns the new secret."""
    authorize(actor, "Application.ReadWrite.All", tenant=registration.tenant_id)
    secret = secrets.token_urlsafe(32)
    client = registration.client
    client.secret = hash_client_secret(secret)  # fast keyed hash: a generated secret (directory/hashers.py)
    client.save(update_fields=["secret"])
    registration.secret_expires_at = (timezone.now() + timedelta(days=secret_lifetime_days)
                                      if secret_lifetime_days else None)
    registration.save(update_fields=["secret_expires_at"])
    revoke_client_tokens(client_id=client.pk)  # tokens got with the old secret go with it
    audit(tenant=registration.tenant, actor=actor, activity="Update application – Certificates and secrets "
          "management", targets=[Target(registration)])
    return secret


@transaction.atomic
def app_registration_update(*, actor: Actor, registration, changes: dict[str, Any]):
    authorize(actor, "Application.ReadWrite.All", tenant=registration.tenant_id)
    registration = AppRegistration.objects.select_for_update().get(pk=registration.pk)
    changes = dict(changes)
    if "application_permissions" in changes:
        changes["application_permissions"] = _validate_permissions(
            changes["application_permissions"], APPLICATION_PERMISSIONS, "application_permissions")
    if "delegated_permissions" in changes:
        changes["delegated_permissions"] = _validate_permissions(
            changes["delegated_permissions"], DELEGATED_PERMISSIONS, "delegated_permissions")
        client = registration.client
        client.set_scopes([".default", "openid", "profile", "email", *changes["delegated_permissions"]])
        client.save(update_fields=["scopes"])
    applied = _apply(registration, changes)
    if applied:
        registration.full_clean()
        registration.save()
        audit(tenant=registration.tenant, actor=actor, activity="Update application",
              targets=[Target(registration, applied)])
    if not registration.enabled:
        revoke_client_tokens(client_id=registration.client_id)
    return registration
