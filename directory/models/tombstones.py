"""What was removed for good, so that delta queries can say so."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .tenants import Tenant


class DeletedObject(models.Model):
    """A directory object that no longer exists (a purged user, a deleted group): Graph's delta answers
    it as ``{"id": …, "@removed": {"reason": "deleted"}}``. Written by the service that deletes, in its
    transaction; one row per object."""

    class ObjectType(models.TextChoices):
        USER = "user", _("User")
        GROUP = "group", _("Group")

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="deleted_objects")
    object_type = models.CharField(max_length=16, choices=ObjectType.choices)
    object_id = models.UUIDField(default=uuid.uuid4)
    deleted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["tenant", "object_type", "deleted_at", "id"], name="deleted_object_delta_idx")]

    def __str__(self) -> str:
        return f"{self.object_type} {self.object_id} (deleted {self.deleted_at:%Y-%m-%d})"

    @classmethod
    def record(cls, *, tenant_id, object_type: str, object_ids) -> None:
        """Tombstones for ``object_ids`` (one INSERT)."""
        now = timezone.now()
        cls.objects.bulk_create([cls(tenant_id=tenant_id, object_type=object_type, object_id=object_id,
                                     deleted_at=now) for object_id in object_ids])
