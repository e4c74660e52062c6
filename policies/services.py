from typing import Any

from django.db import transaction
from django.utils import timezone

from directory.audit import Change, Target, audit
from directory.models import Account, Tenant

from .models import CollaborationSettings

CATEGORY_POLICY = "Policy"


def collaboration_settings_ensure(*, tenants) -> None:
    """Give every tenant listed its settings row with the defaults (idempotent, set-based)."""
    CollaborationSettings.objects.bulk_create(
        [CollaborationSettings(tenant_id=getattr(t, "pk", t)) for t in tenants], ignore_conflicts=True
    )


@transaction.atomic
def collaboration_settings_update(
    *, actor: Account | None, tenant: Tenant, changes: dict[str, Any]
) -> CollaborationSettings:
    """Change the external collaboration settings. Switching between allow and deny lists discards
    the old list (as Entra does)."""
    collaboration_settings_ensure(tenants=[tenant])
    settings = CollaborationSettings.objects.select_for_update().get(tenant=tenant)
    changes = dict(changes)
    new_type = changes.get("domain_list_type", settings.domain_list_type)
    if new_type != settings.domain_list_type and "domains" not in changes:
        changes["domains"] = []
    if new_type == CollaborationSettings.DomainListType.NONE:
        changes["domains"] = []
    applied = []
    for name, new in changes.items():
        old = getattr(settings, name)
        if old != new:
            setattr(settings, name, new)
            applied.append(Change(name, old, new))
    if not applied:
        return settings
    settings.full_clean()
    settings.updated_at = timezone.now()
    settings.save()
    audit(tenant=tenant, actor=actor, activity="Update external collaboration settings", category=CATEGORY_POLICY,
          operation_type="Update", targets=[Target(tenant, applied)])
    return settings
