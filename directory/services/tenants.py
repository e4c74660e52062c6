"""Tenants, their domains and their branding."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from ..actors import Actor, ActorKind, require_actor
from ..audit import Change, Target, audit
from ..models import Branding, Domain, Tenant
from ..signals import tenant_created
from ._common import _apply, _validate_and_save, authorize

# Changing these moves the tenant's web addresses and guest UPNs: the platform operator's call.
_OPERATOR_ONLY = {"slug", "initial_domain"}


@transaction.atomic
def tenant_create(*, actor: Actor, name: str, slug: str, initial_domain: str, **fields) -> Tenant:
    """Create a tenant (the platform operator's job)."""
    if require_actor(actor).kind != ActorKind.OPERATOR:
        raise PermissionDenied(_("Only the platform operator creates tenants."))
    tenant = Tenant(name=name, slug=slug, initial_domain=initial_domain.strip().lower(), **fields)
    _validate_and_save(tenant)
    audit(tenant=tenant, actor=actor, activity="Create company", targets=[Target(tenant)])
    tenant_created.send(sender=Tenant, tenant=tenant)
    return tenant


@transaction.atomic
def tenant_update(*, actor: Actor, tenant: Tenant, changes: dict[str, Any]) -> Tenant:
    authorize(actor, "Organization.ReadWrite.All", tenant=tenant)
    if set(changes) & _OPERATOR_ONLY and actor.kind != ActorKind.OPERATOR:
        raise PermissionDenied(_("Only the platform operator changes a tenant's short name or initial domain."))
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if "initial_domain" in changes:
        changes["initial_domain"] = changes["initial_domain"].strip().lower()
    applied = _apply(tenant, changes)
    if applied:
        _validate_and_save(tenant)
        audit(tenant=tenant, actor=actor, activity="Update company settings", targets=[Target(tenant, applied)])
    return tenant


@transaction.atomic
def domain_add(*, actor: Actor, tenant: Tenant, name: str, is_verified: bool = False) -> Domain:
    authorize(actor, "Domain.ReadWrite.All", tenant=tenant)
    domain = Domain(tenant=tenant, name=name.strip().lower(), is_verified=is_verified)
    _validate_and_save(domain)
    audit(tenant=tenant, actor=actor, activity="Add unverified domain" if not is_verified else "Add verified domain",
          targets=[Target(tenant, [Change("domain", None, domain.name)])])
    return domain


@transaction.atomic
def domain_update(*, actor: Actor, domain: Domain, changes: dict[str, Any]) -> Domain:
    authorize(actor, "Domain.ReadWrite.All", tenant=domain.tenant_id)
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    applied = _apply(domain, changes)
    if applied:
        _validate_and_save(domain)
        activity = "Verify domain" if domain.is_verified else "Update domain"
        audit(tenant=domain.tenant, actor=actor, activity=activity, targets=[Target(domain.tenant, applied)])
    return domain


@transaction.atomic
def domain_remove(*, actor: Actor, domain: Domain) -> None:
    authorize(actor, "Domain.ReadWrite.All", tenant=domain.tenant_id)
    tenant = domain.tenant
    audit(tenant=tenant, actor=actor, activity="Remove domain",
          targets=[Target(tenant, [Change("domain", domain.name, None)])])
    domain.delete()


@transaction.atomic
def branding_save(*, actor: Actor, branding: Branding, changes: dict[str, Any] | None = None) -> Branding:
    """Create a branding (``branding.pk`` unset) or apply ``changes`` to an existing one."""
    authorize(actor, "Organization.ReadWrite.All", tenant=branding.tenant_id)
    if branding.pk is None or not Branding.objects.filter(pk=branding.pk).exists():
        _validate_and_save(branding)
        applied = [Change("locale", None, branding.locale or "default")]
        operation = "Add"
    else:
        branding = Branding.objects.select_for_update().get(pk=branding.pk)
        applied = _apply(branding, changes or {})
        if not applied:
            return branding
        _validate_and_save(branding)
        operation = "Update"
    audit(tenant=branding.tenant, actor=actor, activity="Update company branding", operation_type=operation,
          targets=[Target(branding.tenant, applied)])
    return branding


@transaction.atomic
def branding_delete(*, actor: Actor, branding: Branding) -> None:
    authorize(actor, "Organization.ReadWrite.All", tenant=branding.tenant_id)
    audit(tenant=branding.tenant, actor=actor, activity="Delete company branding",
          targets=[Target(branding.tenant, [Change("locale", branding.locale, None)])])
    branding.delete()
