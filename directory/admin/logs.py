"""The audit log and the outbox in the admin console (read-only)."""


import csv
import datetime
import json

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..actors import Actor
from ..audit import ACTIVITIES, matching_key
from ..models import (
    AuditEvent,
    AuditKey,
    OutboxMessage,
)
from ..redaction import redact
from .base import ReadOnlyAdmin, tenants_with


class _SearchParam(admin.SimpleListFilter):
    """A filter typed into the search form above the list (not listed in the sidebar)."""

    template = "admin/directory/filter_hidden.html"

    def lookups(self, request, model_admin):
        return ()

    def has_output(self):
        return True  # so that the changelist applies it

    def choices(self, changelist):
        return ()


class _KeyFilter(_SearchParam):
    side = ""

    def queryset(self, request, queryset):
        # The list is already narrowed to the tenants whose log the viewer may read.
        return matching_key(queryset, self.side, self.value())


class InitiatorFilter(_KeyFilter):
    title = _("initiated by")
    parameter_name = "actor"
    side = AuditKey.Side.INITIATOR


class TargetFilter(_KeyFilter):
    title = _("target")
    parameter_name = "target"
    side = AuditKey.Side.TARGET


class _DateFilter(_SearchParam):
    def day(self):
        try:
            day = datetime.date.fromisoformat(self.value() or "")
        except ValueError:
            return None
        return day if datetime.date.min < day < datetime.date.max else None  # the day before and after exist


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class SinceFilter(_DateFilter):
    title = _("from")
    parameter_name = "since"

    def queryset(self, request, queryset):
        day = self.day()  # a range on the column itself, so the (tenant, time) index serves it
        return queryset.filter(activity_date_time__gte=_start_of(day)) if day else queryset


class UntilFilter(_DateFilter):
    title = _("to")
    parameter_name = "until"

    def queryset(self, request, queryset):
        day = self.day()
        return queryset.filter(activity_date_time__lt=_start_of(day + datetime.timedelta(days=1))) if day else queryset


SEARCH_PARAMS = ("actor", "target", "category__exact", "result__exact", "since", "until")


def _who(initiated_by: dict) -> str:
    user = initiated_by.get("user") or {}
    if user:
        return user.get("userPrincipalName") or user.get("displayName") or user.get("id") or "—"
    app = initiated_by.get("app") or {}
    if app:
        name = app.get("displayName") or app.get("servicePrincipalName") or "—"
        extra = app.get("servicePrincipalName") if app.get("servicePrincipalName") not in (None, name) else ""
        return f"{name} ({extra})" if extra else name
    return "—"


def _value(text) -> str:
    """A modified property's JSON value, readable: lists as comma-separated items, empty as "—"."""
    if text in (None, "", "null", '""', "[]"):
        return "—"
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return str(text)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "—" if value in (None, "") else str(value)


def _csv_cell(value) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text  # no spreadsheet formulas


class _Echo:
    def write(self, value):
        return value


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log: searched by who acted and what was acted on (name, principal name, e-mail address
    or id; matched whole, through :class:`~directory.models.AuditKey` and its index), category,
    result and a date range; exported as CSV with the same filters."""

    area = "audit"
    list_display = ("activity_date_time", "activity_display_name", "category", "initiator", "targets", "result_badge")
    list_filter = ("operation_type", InitiatorFilter, TargetFilter, SinceFilter, UntilFilter)
    list_select_related = ("tenant",)
    date_hierarchy = "activity_date_time"
    list_per_page = 100
    change_list_template = "admin/directory/auditevent/change_list.html"
    fields = ("activity_date_time", "activity_display_name", "category", "operation_type", "result_line",
              "initiator_table", "targets_table", "details_table", "logged_by_service", "correlation_id", "tenant")
    readonly_fields = fields

    @staticmethod
    def searchable_tenants(request):
        return tenants_with(request, AuditEventAdmin.area, manage=False)

    # -- the list
    @admin.display(description=_("initiated by"))
    def initiator(self, obj):
        return _who(obj.initiated_by or {})

    @admin.display(description=_("targets"))
    def targets(self, obj):
        names = [t.get("userPrincipalName") or t.get("displayName") or t.get("id") or "" for t in obj.target_resources]
        return ", ".join(n for n in names if n) or "—"

    @admin.display(description=_("result"), ordering="result")
    def result_badge(self, obj):
        colour = "#107c10" if obj.result == AuditEvent.Result.SUCCESS else "#c50f1f"
        return format_html('<span style="color:{}">●</span> {}', colour, obj.get_result_display())

    def changelist_view(self, request, extra_context=None):
        params = request.GET
        empty = [name for name in SEARCH_PARAMS if name in params and not params[name].strip()]
        if empty:  # the search form sends its empty fields: drop them (an empty category would match nothing)
            kept = params.copy()
            for name in empty:
                del kept[name]
            return HttpResponseRedirect(f"{request.path}?{kept.urlencode()}" if kept else request.path)
        categories = sorted({a.category for a in ACTIVITIES.values()})
        extra_context = {
            **(extra_context or {}),
            "search": {name: params.get(name, "") for name in SEARCH_PARAMS},
            "categories": categories,
            "results": AuditEvent.Result.choices,
            "kept_params": [(k, v) for k, v in params.items() if k not in (*SEARCH_PARAMS, "p", "e")],
            "export_url": reverse("admin:directory_auditevent_export") + (f"?{params.urlencode()}" if params else ""),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path("export.csv", self.admin_site.admin_view(self.export_view), name="directory_auditevent_export"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """The events the list shows, with its filters, all pages, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        events = changelist.queryset.select_related(None).only(
            "activity_date_time", "activity_display_name", "category", "operation_type", "result", "result_reason",
            "initiated_by", "target_resources", "correlation_id", "tenant_id")
        writer = csv.writer(_Echo(), lineterminator="\r\n")

        def lines():
            yield "\ufeff" + writer.writerow(["date (UTC)", "activity", "category", "operation", "result",
                                               "result reason", "initiated by", "targets", "modified properties",
                                               "correlation id", "tenant id"])
            for event in events.iterator(chunk_size=2000):
                changes = "; ".join(
                    f"{(t.get('displayName') or t.get('id'))}.{p.get('displayName')}: {_value(p.get('oldValue'))} → "
                    f"{_value(p.get('newValue'))}"
                    for t in event.target_resources for p in t.get("modifiedProperties") or [])
                yield writer.writerow([_csv_cell(v) for v in (
                    event.activity_date_time.astimezone(datetime.UTC).isoformat(), event.activity_display_name,
                    event.category, event.operation_type, event.result, event.result_reason,
                    _who(event.initiated_by or {}), self.targets(event), changes, event.correlation_id,
                    event.tenant_id or "")])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-log-{timezone.now():%Y%m%d-%H%M%S}.csv"'
        return response

    # -- one event
    @admin.display(description=_("result"))
    def result_line(self, obj):
        if obj.result_reason:
            return format_html("{} — {}", obj.get_result_display(), obj.result_reason)
        return obj.get_result_display()

    @admin.display(description=_("initiated by"))
    def initiator_table(self, obj):
        data = obj.initiated_by or {}
        kind, who = ("user", data["user"]) if data.get("user") else ("app", data.get("app") or {})
        rows = [(label, who.get(name)) for label, name in (
            (_("Type"), None), (_("Display name"), "displayName"), (_("User principal name"), "userPrincipalName"),
            (_("Id"), "id"), (_("App id"), "appId"), (_("Service principal name"), "servicePrincipalName"),
            (_("IP address"), "ipAddress"), (_("Reason"), "reason"))]
        rows[0] = (_("Type"), _("User") if kind == "user" else _("App"))
        if not who:
            return "—"
        return format_html('<div class="readable-table"><table class="initiator"><tbody>{}</tbody></table></div>',
                           format_html_join("", "<tr><th scope=\"row\">{}</th><td class=\"wrap\">{}</td></tr>",
                                            ((label, value) for label, value in rows if value)))

    @admin.display(description=_("targets"))
    def targets_table(self, obj):
        if not obj.target_resources:
            return "—"
        rows = []
        for target in obj.target_resources:
            changes = target.get("modifiedProperties") or []
            change_html = format_html_join(
                "", '<li><strong>{}</strong>: <span class="old-value">{}</span> → <span class="new-value">{}</span></li>',
                ((p.get("displayName"), _value(p.get("oldValue")), _value(p.get("newValue"))) for p in changes))
            rows.append((target.get("type") or "—", target.get("displayName") or "—",
                         target.get("userPrincipalName") or "—", target.get("id") or "—",
                         format_html('<ul class="readable-list">{}</ul>', change_html) if changes else "—"))
        return format_html(
            '<div class="readable-table"><table class="targets"><thead><tr><th scope="col">{}</th><th scope="col">{}'
            '</th><th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead><tbody>{}</tbody>'
            "</table></div>", _("Type"), _("Name"), _("User principal name"), _("Id"), _("Modified properties"),
            format_html_join("", '<tr><td data-label="{}">{}</td><td class="wrap" data-label="{}">{}</td>'
                                 '<td class="wrap" data-label="{}">{}</td><td class="wrap" data-label="{}">{}</td>'
                                 '<td data-label="{}">{}</td></tr>',
                             ((_("Type"), t, _("Name"), n, _("User principal name"), u, _("Id"), i,
                               _("Modified properties"), m) for t, n, u, i, m in rows)))

    @admin.display(description=_("additional details"))
    def details_table(self, obj):
        if not obj.additional_details:
            return "—"
        return format_html('<div class="readable-table"><table><tbody>{}</tbody></table></div>', format_html_join(
            "", '<tr><th scope="row">{}</th><td class="wrap">{}</td></tr>',
            ((d.get("key"), d.get("value") or "—") for d in obj.additional_details)))


def mail_is_kept_not_delivered() -> bool:
    """True on the embedded defaults (no EMAIL_URL): the dummy backend "sends" by dropping the message,
    so the outbox is where the mail is read, and a "sent" row was kept here, not delivered."""
    return settings.EMAIL_BACKEND == "django.core.mail.backends.dummy.EmailBackend"


def _addresses(values) -> str:
    return format_html_join("", '<li class="wrap">{}</li>', ((v,) for v in values or ()))


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    area = "outbox"
    list_display = ("created_at", "recipients", "subject", "delivery", "attempts", "sent_at")
    list_filter = ("status",)
    search_fields = ("subject", "to")
    list_select_related = ("tenant",)
    readonly_fields = ("tenant", "from_email", "to_list", "cc_list", "subject", "delivery", "attempts", "created_at",
                       "last_attempt_at", "next_attempt_at", "sent_at", "last_error_text", "text")
    fields = readonly_fields
    actions = ["retry_now"]
    change_list_template = "admin/directory/outboxmessage/change_list.html"
    change_form_template = "admin/directory/outboxmessage/change_form.html"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not request.user.is_superuser:  # platform mail (sign-in codes) has no tenant: operators only
            qs = qs.exclude(tenant__isnull=True)
        return qs

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "kept": mail_is_kept_not_delivered()})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        message = self.get_object(request, object_id)
        return super().change_view(request, object_id, form_url, {
            **(extra_context or {}), "kept": mail_is_kept_not_delivered(), "preview": self.html_preview(message)})

    @admin.display(description=_("to"))
    def recipients(self, obj):
        return ", ".join(obj.to) or "—"

    @admin.display(description=_("to"))
    def to_list(self, obj):
        return format_html('<ul class="readable-list">{}</ul>', _addresses(obj.to)) if obj.to else "—"

    @admin.display(description=_("cc"))
    def cc_list(self, obj):
        return format_html('<ul class="readable-list">{}</ul>', _addresses(obj.cc)) if obj.cc else "—"

    @admin.display(description=_("delivery"), ordering="status")
    def delivery(self, obj):
        if obj.status == OutboxMessage.Status.SENT and mail_is_kept_not_delivered():
            return _("Kept here, not delivered")
        return obj.get_status_display()

    @admin.display(description=_("last error"))
    def last_error_text(self, obj):
        return obj.last_error or "—"

    @admin.display(description=_("text"))
    def text(self, obj):
        return redact(obj.text, obj.secrets)  # links and codes are the recipient's, not the console's

    def html_preview(self, obj):
        if not obj.html:
            return ""
        # Shown in a sandboxed frame: the message's HTML never runs in the admin's origin.
        return format_html('<iframe sandbox srcdoc="{}" title="{}" class="mail-preview"></iframe>',
                           redact(obj.html, obj.secrets), _("Message preview"))

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
