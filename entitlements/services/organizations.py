"""Connected organizations and the tenant's entitlement management settings."""

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from directory.actors import Actor
from directory.audit import Change, Target, audit
from directory.models import Tenant, User

from ..models import ConnectedOrganization, EntitlementSettings
from ._common import apply_changes, authorize_tenant, validate_and_save

ORGANIZATION_FIELDS = {"display_name", "description", "state", "source_type", "source_tenant", "external_tenant_id",
                       "domain_name", "issuer_uri"}


@transaction.atomic
def connected_organization_create(*, actor: Actor, tenant: Tenant, display_name: str, **fields: Any
                                  ) -> ConnectedOrganization:
    """Add a partner organization (only administrators add connected organizations, as in Entra)."""
    actor = authorize_tenant(actor, tenant)
    _known(fields)
    organization = ConnectedOrganization(tenant=tenant, display_name=display_name, **fields)
    _normalize(organization)
    validate_and_save(organization)
    audit(tenant=tenant, actor=actor, activity="Create connected organization", targets=[Target(organization, [
        Change("display_name", None, display_name), Change("state", None, organization.state),
        Change("identitySource", None, organization.domain_name or str(organization.external_tenant_id or ""))])])
    return organization


@transaction.atomic
def connected_organization_update(*, actor: Actor, organization: ConnectedOrganization, changes: dict[str, Any]
                                  ) -> ConnectedOrganization:
    actor = authorize_tenant(actor, organization.tenant)
    _known(changes)
    organization = ConnectedOrganization.objects.select_for_update().get(pk=organization.pk)
    applied = apply_changes(organization, changes)
    if applied:
        _normalize(organization)
        validate_and_save(organization)
        audit(tenant=organization.tenant, actor=actor, activity="Update connected organization",
              targets=[Target(organization, applied)])
    return organization


@transaction.atomic
def connected_organization_delete(*, actor: Actor, organization: ConnectedOrganization) -> None:
    actor = authorize_tenant(actor, organization.tenant)
    audit(tenant=organization.tenant, actor=actor, activity="Delete connected organization",
          targets=[Target(organization)])
    organization.delete()


@transaction.atomic
def connected_organization_sponsor_set(*, actor: Actor, organization: ConnectedOrganization, user: User,
                                       external: bool, add: bool) -> bool:
    """Add or remove an internal (a member here) or external (a guest here) sponsor; True if it changed."""
    actor = authorize_tenant(actor, organization.tenant)
    if user.tenant_id != organization.tenant_id:
        raise ValidationError({"sponsor": _("“%(obj)s” is not in this tenant.") % {"obj": user}})
    manager = organization.external_sponsors if external else organization.internal_sponsors
    present = manager.filter(pk=user.pk).exists()
    if present == add:
        return False
    (manager.add if add else manager.remove)(user)
    name = "externalSponsors" if external else "internalSponsors"
    audit(tenant=organization.tenant, actor=actor, activity="Update connected organization", targets=[
        Target(organization, [Change(name, None if add else str(user.pk), str(user.pk) if add else None)])])
    return True


def proposed_organization_for(*, actor: Actor, tenant: Tenant, domain: str, source_tenant: Tenant | None
                              ) -> ConnectedOrganization:
    """The organization of a new external requestor under an "all external users" policy: an existing
    one for their tenant or domain, else a *proposed* one made now (as Entra does). Called inside the
    request's transaction; ``actor`` is the platform acting for the tenant."""
    domain = domain.lower()
    existing = None
    if source_tenant is not None:
        existing = ConnectedOrganization.objects.filter(tenant=tenant, external_tenant_id=source_tenant.pk).first()
    if existing is None:
        existing = ConnectedOrganization.objects.filter(tenant=tenant, domain_name__iexact=domain).first()
    if existing is not None:
        return existing
    organization = ConnectedOrganization(
        tenant=tenant, display_name=source_tenant.name if source_tenant else domain,
        description=_("Proposed when someone of %(domain)s requested access.") % {"domain": domain},
        state=ConnectedOrganization.State.PROPOSED,
        source_type=(ConnectedOrganization.SourceType.TENANT if source_tenant
                     else ConnectedOrganization.SourceType.DOMAIN),
        source_tenant=source_tenant, external_tenant_id=source_tenant.pk if source_tenant else None,
        domain_name="" if source_tenant else domain)
    validate_and_save(organization)
    audit(tenant=tenant, actor=actor, activity="Create proposed connected organization", targets=[
        Target(organization, [Change("state", None, organization.state),
                              Change("identitySource", None, domain)])])
    return organization


def settings_for(tenant: Tenant) -> EntitlementSettings:
    return EntitlementSettings.objects.filter(tenant=tenant).first() or EntitlementSettings(tenant=tenant)


MAX_DELETION_DELAY = timedelta(days=3660)  # as an assignment's longest expiry (Entra: 0–3660 days)


def validate_lifecycle_settings(changes: dict[str, Any]) -> None:
    """The lifecycle settings' rules (the API, the console form and the service ask this one)."""
    action = changes.get("external_user_lifecycle_action", EntitlementSettings.LifecycleAction.NONE)
    if action not in EntitlementSettings.LifecycleAction.values:
        raise ValidationError({"externalUserLifecycleAction": _("Use none, blockSignIn or blockSignInAndDelete.")})
    if "duration_until_external_user_deleted_after_blocked" in changes:
        duration = changes["duration_until_external_user_deleted_after_blocked"]
        if not isinstance(duration, timedelta) or not timedelta(0) <= duration <= MAX_DELETION_DELAY:
            raise ValidationError({"durationUntilExternalUserDeletedAfterBlocked": _(
                "The time before removal must be a duration from PT0S (at once) to P3660D.")})


@transaction.atomic
def entitlement_settings_update(*, actor: Actor, tenant: Tenant, changes: dict[str, Any]) -> EntitlementSettings:
    """Store the external-user lifecycle settings (``lifecycle.external_users_block_due`` applies them;
    a changed duration does not move removals already scheduled, as in Entra)."""
    actor = authorize_tenant(actor, tenant)
    allowed = {"external_user_lifecycle_action", "duration_until_external_user_deleted_after_blocked"}
    if set(changes) - allowed:
        raise ValidationError(_("Unknown properties: %(names)s") % {"names": ", ".join(sorted(set(changes) - allowed))})
    validate_lifecycle_settings(changes)
    settings, _created = EntitlementSettings.objects.select_for_update().get_or_create(tenant=tenant)
    applied = apply_changes(settings, changes)
    if applied:
        validate_and_save(settings)
        audit(tenant=tenant, actor=actor, activity="Update entitlement management settings",
              targets=[Target(settings, applied)])
    return settings


def _normalize(organization: ConnectedOrganization) -> None:
    S = ConnectedOrganization.SourceType
    organization.domain_name = organization.domain_name.strip().lower()
    if organization.source_tenant is not None:
        organization.source_type = S.TENANT
        organization.external_tenant_id = organization.source_tenant.pk
    if organization.source_type == S.TENANT and not organization.external_tenant_id:
        raise ValidationError({"identitySources": _("Name the tenant.")})
    if organization.source_type in (S.DOMAIN, S.FEDERATION) and not organization.domain_name:
        raise ValidationError({"identitySources": _("Name the domain.")})


def _known(fields: dict) -> None:
    unknown = set(fields) - ORGANIZATION_FIELDS
    if unknown:
        raise ValidationError(_("Unknown properties: %(names)s") % {"names": ", ".join(sorted(unknown))})
