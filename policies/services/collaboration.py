"""Writes to the policies: the external collaboration settings."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from directory.actors import Actor
from directory.audit import Target, apply_changes, audit, register_activities, register_target_type
from directory.models import Tenant
from directory.services import authorize

from ..models import CollaborationSettings

CATEGORY_POLICY = "Policy"
register_activities(CATEGORY_POLICY, {"Update external collaboration settings": "Update"})
register_target_type(CollaborationSettings, "Policy")


def collaboration_settings_ensure(*, tenants) -> None:
    """Give every tenant listed its settings row with the defaults (idempotent, set-based). Runs when
    a tenant is created (``tenant_created``), never on a read."""
    CollaborationSettings.objects.bulk_create(
        [CollaborationSettings(tenant_id=getattr(t, "pk", t)) for t in tenants], ignore_conflicts=True
    )


@transaction.atomic
def collaboration_settings_update(*, actor: Actor, tenant: Tenant, changes: dict[str, Any]) -> CollaborationSettings:
    """Change the external collaboration settings (``Policy.ReadWrite.Authorization``). Switching between
    allow and deny lists discards the old list unless a new one is given, and "no list" keeps none (as
    Entra does): the one place this rule lives, for the admin console and the API alike."""
    authorize(actor, "Policy.ReadWrite.Authorization", tenant=tenant)
    collaboration_settings_ensure(tenants=[tenant])
    settings = CollaborationSettings.objects.select_for_update().get(tenant=tenant)
    changes = dict(changes)
    new_type = changes.get("domain_list_type", settings.domain_list_type)
    if new_type != settings.domain_list_type and "domains" not in changes:
        changes["domains"] = []
    if new_type == CollaborationSettings.DomainListType.NONE:
        changes["domains"] = []
    applied = apply_changes(settings, changes)
    if not applied:
        return settings
    settings.full_clean()
    settings.updated_at = timezone.now()
    settings.save()
    audit(tenant=tenant, actor=actor, activity="Update external collaboration settings",
          targets=[Target(settings, applied)])
    return settings
