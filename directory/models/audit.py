"""The directory audit log."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantOwnedQuerySet
from .people import Account
from .tenants import Tenant


class AuditEvent(models.Model):
    """One entry of the directory audit log (Graph's ``directoryAudit``). Written, never changed."""

    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        TIMEOUT = "timeout", _("Timeout")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events")
    activity_date_time = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    activity_display_name = models.CharField(_("activity"), max_length=256)
    category = models.CharField(_("category"), max_length=64)
    operation_type = models.CharField(_("operation"), max_length=32, blank=True)
    logged_by_service = models.CharField(_("service"), max_length=64, default="Core Directory")
    correlation_id = models.UUIDField(_("correlation id"), default=uuid.uuid4)
    initiated_by = models.JSONField(_("initiated by"), default=dict)
    initiated_by_account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    initiated_by_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.SUCCESS)
    result_reason = models.CharField(_("result reason"), max_length=512, blank=True)
    target_resources = models.JSONField(_("targets"), default=list)
    additional_details = models.JSONField(_("additional details"), default=list, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-activity_date_time"]
        indexes = [models.Index(fields=["tenant", "-activity_date_time"], name="audit_tenant_time_idx")]

    def __str__(self) -> str:
        return f"{self.activity_display_name} ({self.activity_date_time:%Y-%m-%d %H:%M})"


class AuditEventKey(models.Model):
    """What the admin console's audit search matches: one row per name, principal name, e-mail address
    or id of an event's initiator or targets, lower-cased. Written with the event (``directory.audit``);
    the index answers "events of this tenant whose target is X" without reading the events' JSON, on
    every database (a JSON containment index would be PostgreSQL's only)."""

    class Side(models.TextChoices):
        INITIATOR = "i", _("initiated by")
        TARGET = "t", _("target")

    MAX_LENGTH = 320

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="search_keys")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    side = models.CharField(max_length=1, choices=Side.choices)
    key = models.CharField(max_length=MAX_LENGTH)

    class Meta:
        indexes = [models.Index(fields=["tenant", "side", "key", "event"], name="audit_key_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.get_side_display()}: {self.key}"

    @classmethod
    def normalize(cls, value) -> str:
        return str(value or "").strip().casefold()[: cls.MAX_LENGTH]
