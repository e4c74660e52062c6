"""The audit log and the outbox in the admin console (read-only)."""


from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..actors import Actor
from ..models import (
    AuditEvent,
    OutboxMessage,
)
from ..redaction import redact
from .base import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    area = "audit"
    list_display = ("activity_date_time", "activity_display_name", "category", "initiator", "targets", "result")
    list_filter = ("category", "result", "operation_type")
    search_fields = ("activity_display_name",)
    list_select_related = ("tenant",)
    date_hierarchy = "activity_date_time"
    list_per_page = 100

    @admin.display(description=_("initiated by"))
    def initiator(self, obj):
        who = obj.initiated_by.get("user") or obj.initiated_by.get("app") or {}
        return who.get("userPrincipalName") or who.get("displayName") or "—"

    @admin.display(description=_("targets"))
    def targets(self, obj):
        return ", ".join(t.get("displayName") or t.get("id", "") for t in obj.target_resources)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    area = "outbox"
    list_display = ("created_at", "recipients", "subject", "status", "attempts", "sent_at", "next_attempt_at")
    list_filter = ("status",)
    search_fields = ("subject", "to")
    readonly_fields = ("tenant", "from_email", "to", "cc", "subject", "status", "attempts", "created_at",
                       "last_attempt_at", "next_attempt_at", "sent_at", "last_error", "text", "html_preview")
    fields = readonly_fields
    actions = ["retry_now"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not request.user.is_superuser:  # platform mail (sign-in codes) has no tenant: operators only
            qs = qs.exclude(tenant__isnull=True)
        return qs

    @admin.display(description=_("to"))
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description=_("text"))
    def text(self, obj):
        return redact(obj.body_text, obj.secrets)  # links and codes are the recipient's, not the console's

    @admin.display(description=_("HTML"))
    def html_preview(self, obj):
        if not obj.body_html:
            return "—"
        # Shown in a sandboxed frame: the message's HTML never runs in the admin's origin.
        return format_html('<iframe sandbox srcdoc="{}" title="{}" style="width:100%;height:28rem;border:1px solid '
                           '#ccc;background:#fff"></iframe>', redact(obj.body_html, obj.secrets), _("Message preview"))

    @admin.action(description=_("Send selected messages again now"))
    def retry_now(self, request, queryset):
        by_tenant: dict = {}
        for message in queryset.select_related("tenant"):
            by_tenant.setdefault(message.tenant_id, []).append(message)
        count = 0
        for tenant_id, messages_ in by_tenant.items():
            actor = Actor.for_account(request.user, None) if tenant_id is None else self.actor(request, messages_[0])
            try:
                count += services.outbox_retry_now(actor=actor, messages=messages_)
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, ngettext("%d message queued.", "%d messages queued.", count) % count)

    def has_change_permission(self, request, obj=None):
        return False
