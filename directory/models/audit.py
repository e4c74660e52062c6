"""The directory audit log."""

import json
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantOwnedQuerySet
from .people import Account
from .tenants import Tenant


class SearchKeysField(models.JSONField):
    """A JSON array of :class:`AuditKey` strings. ``search_keys__holds=key`` finds the rows holding ``key``:
    a containment the GIN index answers on PostgreSQL, a read of each array elsewhere."""


@SearchKeysField.register_lookup
class Holds(models.Lookup):
    lookup_name = "holds"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # SQLite: the array's elements, one by one
        lhs, params = self.process_lhs(compiler, connection)
        return f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE value = %s)", (*params, str(self.rhs))  # noqa: S608

    def as_postgresql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", (*params, json.dumps([str(self.rhs)]))


class AuditEvent(models.Model):
    """One entry of the directory audit log (Graph's ``directoryAudit``). Written, never changed."""

    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        TIMEOUT = "timeout", _("Timeout")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: audit_tenant_time_idx leads with the tenant.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events",
                               db_index=False)
    activity_date_time = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    activity_display_name = models.CharField(_("activity"), max_length=256)
    category = models.CharField(_("category"), max_length=64)
    operation_type = models.CharField(_("operation"), max_length=32, blank=True)
    logged_by_service = models.CharField(_("service"), max_length=64, default="Core Directory")
    correlation_id = models.UUIDField(_("correlation id"), default=uuid.uuid4)
    initiated_by = models.JSONField(_("initiated by"), default=dict)
    # Indexed only where set (Meta.indexes): what the platform's sweeps write has no initiating person,
    # and a sweep writes tens of thousands of rows at once.
    initiated_by_account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    initiated_by_user_id = models.UUIDField(null=True, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.SUCCESS)
    result_reason = models.CharField(_("result reason"), max_length=512, blank=True)
    target_resources = models.JSONField(_("targets"), default=list)
    additional_details = models.JSONField(_("additional details"), default=list, blank=True)
    #: What the console's search matches (:class:`AuditKey`), written with the row.
    search_keys = SearchKeysField(default=list, blank=True, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-activity_date_time"]
        indexes = [
            models.Index(fields=["tenant", "-activity_date_time"], name="audit_tenant_time_idx"),
            models.Index(fields=["initiated_by_account"], name="audit_initiator_account_idx",
                         condition=models.Q(initiated_by_account__isnull=False)),
            models.Index(fields=["initiated_by_user_id"], name="audit_initiator_user_idx",
                         condition=models.Q(initiated_by_user_id__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.activity_display_name} ({self.activity_date_time:%Y-%m-%d %H:%M})"


class AuditKey:
    """What the admin console's audit search matches: each event carries, in ``AuditEvent.search_keys``,
    the ids, names, principal names and e-mail addresses of its initiator and targets, lower-cased and
    prefixed by their side (``"t:ann@partner.example"``). On PostgreSQL a GIN index (``jsonb_path_ops``,
    migration ``directory 0018``) answers "events whose target is X" without reading the events' JSON;
    elsewhere (SQLite in development) the search reads the arrays. The keys travel in the event's own row:
    one row per event, not one per key (issue 13: the expiry sweep writes 100,000 of them at once)."""

    class Side(models.TextChoices):
        INITIATOR = "i", _("initiated by")
        TARGET = "t", _("target")

    MAX_LENGTH = 320

    @classmethod
    def normalize(cls, value) -> str:
        return str(value or "").strip().casefold()[: cls.MAX_LENGTH]

    @classmethod
    def of(cls, side: str, value) -> str:
        """The stored key of ``value`` on ``side`` ("" when ``value`` is blank)."""
        key = cls.normalize(value)
        return f"{side}:{key}" if key else ""
