"""Writes to the cross-tenant access settings: the default and the partner organizations (audit category
``CrossTenantAccessSettings``; Graph permission ``Policy.ReadWrite.CrossTenantAccess``)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from directory.actors import Actor
from directory.audit import Change, Target, apply_changes, audit, register_activities, register_target_type
from directory.models import Tenant
from directory.services import authorize

from ..cross_tenant import DEFAULT_FIELDS, PARTNER_FIELDS, CrossTenantSettingsInvalid, validate_changes
from ..models import CrossTenantAccessDefault, CrossTenantAccessPartner

CATEGORY_CROSS_TENANT = "CrossTenantAccessSettings"
WRITE = "Policy.ReadWrite.CrossTenantAccess"
register_activities(CATEGORY_CROSS_TENANT, {
    "Update a default cross-tenant access setting": "Update",
    "Reset the cross-tenant access default setting": "Update",
    "Add a partner to cross-tenant access setting": "Add",
    "Update a partner cross-tenant access setting": "Update",
    "Delete partner specific cross-tenant access setting": "Delete",
})
register_target_type(CrossTenantAccessDefault, "Policy")
register_target_type(CrossTenantAccessPartner, "Policy")


def cross_tenant_default_ensure(*, tenants) -> None:
    """Give every tenant listed Entra's service defaults (idempotent, set-based); runs on tenant_created."""
    CrossTenantAccessDefault.objects.bulk_create(
        [CrossTenantAccessDefault(tenant_id=getattr(t, "pk", t)) for t in tenants], ignore_conflicts=True)


_apply = apply_changes  # directory/audit.py: what really changed, old → new


def _locked_default(tenant: Tenant) -> CrossTenantAccessDefault:
    cross_tenant_default_ensure(tenants=[tenant])
    return CrossTenantAccessDefault.objects.select_for_update().get(tenant=tenant)


@transaction.atomic
def cross_tenant_default_update(*, actor: Actor, tenant: Tenant, changes: dict[str, Any]) -> CrossTenantAccessDefault:
    """Change the default settings; ``changes`` are Graph-named (``b2bCollaborationInbound``, …), each
    replacing the property whole. The default then is no longer the service default."""
    authorize(actor, WRITE, tenant=tenant)
    fields = validate_changes(changes, fields=DEFAULT_FIELDS, is_default=True)
    default = _locked_default(tenant)
    applied = _apply(default, fields)
    if not applied:
        return default
    if default.is_service_default:
        applied.append(Change("is_service_default", True, False))
        default.is_service_default = False
    default.updated_at = timezone.now()
    default.save()
    audit(tenant=tenant, actor=actor, activity="Update a default cross-tenant access setting",
          targets=[Target(default, applied)])
    return default


@transaction.atomic
def cross_tenant_default_reset(*, actor: Actor, tenant: Tenant) -> CrossTenantAccessDefault:
    """``resetToSystemDefault``: Entra's service defaults again."""
    authorize(actor, WRITE, tenant=tenant)
    default = _locked_default(tenant)
    fresh = CrossTenantAccessDefault(tenant=tenant)
    applied = _apply(default, {f.attname: getattr(fresh, f.attname) for f in CrossTenantAccessDefault._meta.fields
                               if f.attname not in ("id", "tenant_id", "updated_at")})
    if applied:
        default.updated_at = timezone.now()
        default.save()
        audit(tenant=tenant, actor=actor, activity="Reset the cross-tenant access default setting",
              targets=[Target(default, applied)])
    return default


def _partner_key(partner_tenant_id, issuer: str) -> tuple[uuid.UUID, str]:
    try:
        tid = uuid.UUID(str(partner_tenant_id))
    except ValueError:
        raise CrossTenantSettingsInvalid("tenantId must be a tenant ID (a GUID).") from None
    issuer = (issuer or "").strip()
    # https only; plain http only on this machine (two deployments side by side in development and tests).
    loopback = issuer.startswith(("http://127.0.0.1:", "http://localhost:", "http://[::1]:"))
    if issuer and not (issuer.startswith("https://") or loopback):
        raise CrossTenantSettingsInvalid("The issuer of another deployment is an https:// URL.")
    return tid, issuer.rstrip("/")


@transaction.atomic
def cross_tenant_partner_create(*, actor: Actor, tenant: Tenant, partner_tenant_id, issuer: str = "",
                                settings: dict[str, Any] | None = None) -> CrossTenantAccessPartner:
    """Add an organization: a tenant on this platform (no issuer) or on another deployment (its issuer).
    Properties not given are inherited from the default."""
    authorize(actor, WRITE, tenant=tenant)
    tid, issuer = _partner_key(partner_tenant_id, issuer)
    if tid == tenant.pk and not issuer:
        raise CrossTenantSettingsInvalid("An organization cannot be its own partner.")
    fields = validate_changes(settings or {}, fields=PARTNER_FIELDS, is_default=False)
    if CrossTenantAccessPartner.objects.filter(tenant=tenant, partner_tenant_id=tid, issuer=issuer).exists():
        raise CrossTenantSettingsInvalid(f"A configuration for tenant {tid} already exists.", code="conflict")
    partner = CrossTenantAccessPartner.objects.create(tenant=tenant, partner_tenant_id=tid, issuer=issuer, **fields)
    audit(tenant=tenant, actor=actor, activity="Add a partner to cross-tenant access setting",
          targets=[Target(partner, [Change("tenantId", None, str(tid))] + (
              [Change("issuer", None, issuer)] if issuer else []) + [Change(k, None, v) for k, v in fields.items()])])
    return partner


@transaction.atomic
def cross_tenant_partner_update(*, actor: Actor, partner: CrossTenantAccessPartner,
                                changes: dict[str, Any]) -> CrossTenantAccessPartner:
    """Change an organization's settings; a property set to null is inherited from the default again."""
    authorize(actor, WRITE, tenant=partner.tenant)
    fields = validate_changes(changes, fields=PARTNER_FIELDS, is_default=False)
    partner = CrossTenantAccessPartner.objects.select_for_update().get(pk=partner.pk)
    applied = _apply(partner, fields)
    if applied:
        partner.updated_at = timezone.now()
        partner.save()
        audit(tenant=partner.tenant, actor=actor, activity="Update a partner cross-tenant access setting",
              targets=[Target(partner, applied)])
    return partner


@transaction.atomic
def cross_tenant_partner_delete(*, actor: Actor, partner: CrossTenantAccessPartner) -> None:
    authorize(actor, WRITE, tenant=partner.tenant)
    audit(tenant=partner.tenant, actor=actor, activity="Delete partner specific cross-tenant access setting",
          targets=[Target(partner, [Change("tenantId", str(partner.partner_tenant_id), None)])])
    partner.delete()
