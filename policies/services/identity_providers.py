"""Writes to a tenant's identity providers (Graph ``/identity/identityProviders``; permission
``IdentityProvider.ReadWrite.All``), audited. The client secret is encrypted before it is stored and is
never returned; the admin console and the API call these same services."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from directory.actors import Actor
from directory.audit import Change, Target, apply_changes, audit, register_activities, register_target_type
from directory.models import Tenant
from directory.services import authorize

from ..federation.secrets import encrypt_secret
from ..models import IdentityProvider

CATEGORY_IDENTITY_PROVIDER = "IdentityProvider"
WRITE = "IdentityProvider.ReadWrite.All"
register_activities(CATEGORY_IDENTITY_PROVIDER, {
    "Add identity provider": "Add",
    "Update identity provider": "Update",
    "Delete identity provider": "Delete",
})
register_target_type(IdentityProvider, "IdentityProvider")

_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")
_MICROSOFT_TENANT = re.compile(r"^(organizations|common|consumers|[0-9a-f-]{36}|[a-z0-9.-]{3,253})$")
MAX_DOMAINS = 50


class IdentityProviderInvalid(ValidationError):
    """A value Graph would refuse; the message names the property as Graph does."""


def _text(value, name: str, *, max_length: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise IdentityProviderInvalid(f"{name} is required and must be text.")
    if "\x00" in value or len(value) > max_length:
        raise IdentityProviderInvalid(f"{name} must be at most {max_length} characters, without NUL characters.")
    return value.strip()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(value, name: str) -> str:
    url = _text(value, name, max_length=500)
    parts = urlsplit(url)
    # https only, as Entra requires; plain http only on this machine (development, the tests' deployments).
    if not parts.hostname or parts.scheme not in ("https", "http") or (
            parts.scheme == "http" and not _is_loopback(parts.hostname)) or parts.username or parts.password:
        raise IdentityProviderInvalid(f"{name} must be an https:// URL.")
    return url.rstrip("/")


def _domains(value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_DOMAINS:
        raise IdentityProviderInvalid(f"domains must be a list of at most {MAX_DOMAINS} domain names.")
    clean: list[str] = []
    for item in value:
        domain = item.get("id") if isinstance(item, dict) else item  # Graph's [{id: "contoso.com"}] too
        if not isinstance(domain, str) or not _DOMAIN.match(domain.strip().lower()):
            raise IdentityProviderInvalid(f"'{str(domain)[:60]}' is not a domain name.")
        if domain.strip().lower() not in clean:
            clean.append(domain.strip().lower())
    return clean


def _validate(kind: str, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "display_name" in fields or creating:
        out["display_name"] = _text(fields.get("display_name"), "displayName", max_length=256)
    if "client_id" in fields or creating:
        out["client_id"] = _text(fields.get("client_id"), "clientId", max_length=256)
    if "client_secret" in fields or creating:
        secret = _text(fields.get("client_secret"), "clientSecret", max_length=512)
        out["client_secret_encrypted"] = encrypt_secret(secret)
    if kind == IdentityProvider.Kind.OIDC and ("metadata_url" in fields or creating):
        out["metadata_url"] = _url(fields.get("metadata_url"), "metadataUrl")
    if kind == IdentityProvider.Kind.DEPLOYMENT and ("issuer" in fields or creating):
        out["issuer"] = _url(fields.get("issuer"), "issuer")
    if kind == IdentityProvider.Kind.OIDC and "issuer" in fields:  # optional: the discovery document's otherwise
        out["issuer"] = _url(fields["issuer"], "issuer") if fields["issuer"] else ""
    if kind == IdentityProvider.Kind.MICROSOFT and ("microsoft_tenant" in fields or creating):
        value = (_text(fields.get("microsoft_tenant"), "tenantId", max_length=64, required=False) or "organizations")
        if not _MICROSOFT_TENANT.match(value.lower()):
            raise IdentityProviderInvalid("tenantId must be a tenant ID, a domain, or organizations.")
        out["microsoft_tenant"] = value.lower()
    if "scope" in fields:
        scope = _text(fields.get("scope"), "scope", max_length=256)
        if "openid" not in scope.split():
            raise IdentityProviderInvalid("scope must include openid.")
        out["scope"] = " ".join(scope.split())
    if "domains" in fields or creating:
        out["domains"] = _domains(fields.get("domains"))
        if not out["domains"] and kind != IdentityProvider.Kind.GOOGLE:
            raise IdentityProviderInvalid("domains must name at least one domain whose guests sign in here.")
    unknown = set(fields) - {"display_name", "client_id", "client_secret", "metadata_url", "issuer",
                             "microsoft_tenant", "scope", "domains"}
    if unknown:
        raise IdentityProviderInvalid(f"Property '{sorted(unknown)[0][:60]}' cannot be set on this identity provider.")
    return out


def _domain_conflict(tenant: Tenant, domains: list[str], *, exclude=None) -> None:
    """A domain routes to one identity provider of a tenant, and never one of an organization on this
    platform (its people sign in with their accounts here: Entra's "not for a domain verified in a tenant")."""
    from directory.models import Domain

    ours = set(Domain.objects.filter(name__in=domains, is_verified=True).values_list("name", flat=True))
    ours |= set(Tenant.objects.filter(initial_domain__in=domains).values_list("initial_domain", flat=True))
    if ours:
        raise IdentityProviderInvalid(f"The domain {sorted(ours)[0]} belongs to an organization on this platform; "
                                      "its people sign in with their accounts here.")
    others = IdentityProvider.objects.filter(tenant=tenant).exclude(pk=getattr(exclude, "pk", None))
    taken = {d for idp in others.only("domains") for d in (idp.domains or [])}
    clash = sorted(set(domains) & taken)
    if clash:
        raise IdentityProviderInvalid(f"The domain {clash[0]} already routes to another identity provider.",
                                      code="conflict")


def _audit_changes(fields: dict[str, Any]) -> list[Change]:
    return [Change(k if k != "client_secret_encrypted" else "clientSecret", None,
                   "******" if k == "client_secret_encrypted" else v) for k, v in fields.items()]


@transaction.atomic
def identity_provider_create(*, actor: Actor, tenant: Tenant, kind: str, **fields: Any) -> IdentityProvider:
    """Add an identity provider: ``kind`` oidc (``metadata_url``), google, microsoft (``microsoft_tenant``)
    or deployment (``issuer``); all take ``display_name``, ``client_id``, ``client_secret``, ``domains``."""
    authorize(actor, WRITE, tenant=tenant)
    if kind not in IdentityProvider.Kind.values:
        raise IdentityProviderInvalid("identityProviderType is not one this organization can add.")
    values = _validate(kind, fields, creating=True)
    _domain_conflict(tenant, values["domains"])
    idp = IdentityProvider.objects.create(tenant=tenant, kind=kind, **values)
    audit(tenant=tenant, actor=actor, activity="Add identity provider",
          targets=[Target(idp, [Change("identityProviderType", None, kind), *_audit_changes(values)])])
    return idp


@transaction.atomic
def identity_provider_update(*, actor: Actor, identity_provider: IdentityProvider, **fields: Any) -> IdentityProvider:
    """Change an identity provider; a new ``client_secret`` replaces the stored one (never shown)."""
    authorize(actor, WRITE, tenant=identity_provider.tenant)
    idp = IdentityProvider.objects.select_for_update().get(pk=identity_provider.pk)
    values = _validate(idp.kind, fields, creating=False)
    if "domains" in values:
        _domain_conflict(idp.tenant, values["domains"], exclude=idp)
    secret = values.pop("client_secret_encrypted", None)
    applied = apply_changes(idp, values)
    if secret is not None:
        idp.client_secret_encrypted = secret
        applied.append(Change("clientSecret", "******", "******"))
    if applied:
        idp.updated_at = timezone.now()
        idp.save()
        audit(tenant=idp.tenant, actor=actor, activity="Update identity provider", targets=[Target(idp, applied)])
    return idp


@transaction.atomic
def identity_provider_delete(*, actor: Actor, identity_provider: IdentityProvider) -> None:
    """Remove an identity provider. Guests who signed in with it keep their accounts (keyed on its issuer);
    new redemptions route elsewhere."""
    authorize(actor, WRITE, tenant=identity_provider.tenant)
    audit(tenant=identity_provider.tenant, actor=actor, activity="Delete identity provider",
          targets=[Target(identity_provider, [Change("displayName", identity_provider.display_name, None)])])
    identity_provider.delete()


def identity_provider_check(*, tenant: Tenant, kind: str, fields: dict[str, Any], instance=None) -> None:
    """What :func:`identity_provider_create` / ``_update`` would refuse, without writing (the console's form
    shows it next to the fields)."""
    if kind not in IdentityProvider.Kind.values:
        raise IdentityProviderInvalid("identityProviderType is not one this organization can add.")
    values = _validate(kind, fields, creating=instance is None)
    if "domains" in values:
        _domain_conflict(tenant, values["domains"], exclude=instance)
