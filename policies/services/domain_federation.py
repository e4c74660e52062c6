"""Writes to SAML/WS-Fed domain federation (Graph ``samlOrWsFedExternalDomainFederation`` and its
``domains``), ``IdentityProvider.ReadWrite.All``; the rules are ``policies.federation``'s."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor
from directory.audit import Change, Target, apply_changes, audit, register_activities, register_target_type
from directory.models import Tenant
from directory.services import authorize

from ..domain_federation import (
    FederationInvalid,
    clean_certificate,
    clean_display_name,
    clean_domain_list,
    clean_domain_name,
    clean_https_url,
    clean_issuer_uri,
    clean_protocol,
)
from ..models import ExternalDomainFederation, ExternalDomainName

CATEGORY_DIRECTORY = "DirectoryManagement"
WRITE = "IdentityProvider.ReadWrite.All"
register_activities(CATEGORY_DIRECTORY, {
    "Add SAML/WS-Fed identity provider": "Add",
    "Update SAML/WS-Fed identity provider": "Update",
    "Delete SAML/WS-Fed identity provider": "Delete",
    "Add domain to SAML/WS-Fed identity provider": "Add",
    "Remove domain from SAML/WS-Fed identity provider": "Delete",
})
register_target_type(ExternalDomainFederation, "IdentityProvider")

#: Graph name → (model field, the rule that cleans it).
FIELDS = {
    "displayName": ("display_name", clean_display_name),
    "issuerUri": ("issuer_uri", clean_issuer_uri),
    "passiveSignInUri": ("passive_sign_in_uri", lambda v: clean_https_url(v, "passiveSignInUri", required=True)),
    "metadataExchangeUri": ("metadata_exchange_uri",
                            lambda v: clean_https_url(v, "metadataExchangeUri", required=False)),
    "preferredAuthenticationProtocol": ("preferred_authentication_protocol", clean_protocol),
    "signingCertificate": ("signing_certificate", clean_certificate),
}
REQUIRED = ("displayName", "issuerUri", "passiveSignInUri", "signingCertificate")


def _fields(data: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise FederationInvalid(_("%(name)s is not a property of a SAML/WS-Fed identity provider.")
                                % {"name": unknown[0][:60]})
    return {FIELDS[name][0]: FIELDS[name][1](value) for name, value in data.items()}


def _unique_issuer(tenant_id, issuer: str, *, exclude=None) -> None:
    taken = ExternalDomainFederation.objects.filter(tenant_id=tenant_id, issuer_uri=issuer)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise FederationInvalid(_("Another identity provider configuration already has this issuer URI."),
                                code="conflict")


def _lock_tenant(tenant_id) -> None:
    # Domain and issuer uniqueness are checked, then written: one writer per tenant at a time, so the
    # check holds (the unique constraints catch anything that slips past).
    Tenant.objects.select_for_update().filter(pk=tenant_id).first()


@transaction.atomic
def saml_federation_create(*, actor: Actor, tenant: Tenant, data: dict[str, Any],
                           domains: list) -> ExternalDomainFederation:
    """Federate with a partner's SAML 2.0 or WS-Fed identity provider for one or more of its domains
    (Entra asks for one at creation; more are added with :func:`saml_federation_domain_add`)."""
    authorize(actor, WRITE, tenant=tenant)
    missing = [name for name in REQUIRED if not data.get(name)]
    if missing:
        raise FederationInvalid(_("%(name)s is required.") % {"name": missing[0]})
    fields = _fields(data)
    _lock_tenant(tenant.pk)
    names = clean_domain_list(domains, tenant=tenant)
    if not names:
        raise FederationInvalid(_("A SAML/WS-Fed identity provider needs at least one domain."))
    _unique_issuer(tenant.pk, fields["issuer_uri"])
    try:
        with transaction.atomic():
            federation = ExternalDomainFederation.objects.create(tenant=tenant, **fields)
            ExternalDomainName.objects.bulk_create(
                [ExternalDomainName(tenant=tenant, federation=federation, name=n) for n in names])
    except IntegrityError:
        raise FederationInvalid(_("A domain or the issuer URI is already federated."), code="conflict") from None
    audit(tenant=tenant, actor=actor, activity="Add SAML/WS-Fed identity provider",
          targets=[Target(federation, [Change(k, None, v) for k, v in fields.items()
                                       if k != "signing_certificate"]
                          + [Change("signing_certificate", None, "(set)"), Change("domains", None, names)])])
    return federation


@transaction.atomic
def saml_federation_update(*, actor: Actor, federation: ExternalDomainFederation,
                           changes: dict[str, Any]) -> ExternalDomainFederation:
    """Change a configuration's properties (Graph names); the domains change through their own services."""
    authorize(actor, WRITE, tenant=federation.tenant)
    fields = _fields(changes)
    _lock_tenant(federation.tenant_id)
    federation = ExternalDomainFederation.objects.select_for_update().get(pk=federation.pk)
    if "issuer_uri" in fields:
        _unique_issuer(federation.tenant_id, fields["issuer_uri"], exclude=federation.pk)
    applied = apply_changes(federation, fields)
    if not applied:
        return federation
    federation.modified_at = timezone.now()
    federation.save()
    audit(tenant=federation.tenant, actor=actor, activity="Update SAML/WS-Fed identity provider",
          targets=[Target(federation, [c if c.property != "signing_certificate" else
                                       Change(c.property, "(previous)", "(new)") for c in applied])])
    return federation


@transaction.atomic
def saml_federation_delete(*, actor: Actor, federation: ExternalDomainFederation) -> None:
    """Remove the federation: its domains' new redemptions and sign-ins fall back to the next provider
    (accounts already linked to it can no longer sign in through it)."""
    authorize(actor, WRITE, tenant=federation.tenant)
    names = list(federation.domains.values_list("name", flat=True))
    audit(tenant=federation.tenant, actor=actor, activity="Delete SAML/WS-Fed identity provider",
          targets=[Target(federation, [Change("issuer_uri", federation.issuer_uri, None),
                                       Change("domains", names, None)])])
    federation.delete()


@transaction.atomic
def saml_federation_domain_add(*, actor: Actor, federation: ExternalDomainFederation, name: str) -> ExternalDomainName:
    authorize(actor, WRITE, tenant=federation.tenant)
    _lock_tenant(federation.tenant_id)
    name = clean_domain_name(name, tenant=federation.tenant, federation_id=None)
    try:
        with transaction.atomic():
            domain = ExternalDomainName.objects.create(tenant_id=federation.tenant_id, federation=federation, name=name)
    except IntegrityError:
        raise FederationInvalid(_("“%(domain)s” is already federated.") % {"domain": name}, code="conflict") from None
    audit(tenant=federation.tenant, actor=actor, activity="Add domain to SAML/WS-Fed identity provider",
          targets=[Target(federation, [Change("domains", None, name)])])
    return domain


@transaction.atomic
def saml_federation_domain_remove(*, actor: Actor, domain: ExternalDomainName) -> None:
    """Remove one domain; the last one stays (a configuration federates at least one domain)."""
    federation = domain.federation
    authorize(actor, WRITE, tenant=federation.tenant)
    _lock_tenant(federation.tenant_id)
    if ExternalDomainName.objects.filter(federation_id=federation.pk).count() <= 1:  # not a prefetched list
        raise FederationInvalid(_("A SAML/WS-Fed identity provider keeps at least one domain; delete the "
                                  "configuration instead."))
    audit(tenant=federation.tenant, actor=actor, activity="Remove domain from SAML/WS-Fed identity provider",
          targets=[Target(federation, [Change("domains", domain.name, None)])])
    domain.delete()
