"""Self-service requests in the admin console: group join requests and requests for an application, which
administrators decide as the panel's owners and approvers do (``directory/services/requests.py``).

Who sees which: :data:`directory.authz.DECIDE_CAPABILITY` — ``GroupMember.ReadWrite.All`` (Groups and User
Administrators) for group join requests, ``AppRoleAssignment.ReadWrite.All`` (Application Administrators)
for application requests, in the tenants where the viewer holds it; the Global Administrator both. Every
decision goes through ``self_service_request_decide`` (its check, ``Actor.may_decide``, its audit row, its
e-mail to the requester), one request at a time, with the administrator's note as its justification.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..authz import DECIDE_CAPABILITY
from ..models import SelfServiceRequest
from .base import ReadOnlyAdmin, _roles

Status = SelfServiceRequest.Status
NOTE_MAX = 1024


def decide_tenants(request) -> dict[str, set]:
    """{"group": tenant ids, "application": tenant ids} where the viewer decides that kind of request."""
    roles = _roles(request)
    return {kind: {tenant_id for tenant_id, caps in roles.items() if capability in caps}
            for kind, capability in DECIDE_CAPABILITY.items()}


class StatusFilter(admin.SimpleListFilter):
    """Pending requests unless asked otherwise: the console's list is the queue to work through."""

    title = _("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*Status.choices, (self.ALL, _("All"))]

    def value(self):
        return super().value() or Status.PENDING.value

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.ALL:
            return queryset
        if value not in Status.values:
            return queryset.none()
        return queryset.filter(status=value)

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            yield {"selected": self.value() == str(value), "display": label,
                   "query_string": changelist.get_query_string({self.parameter_name: value})}


class KindFilter(admin.SimpleListFilter):
    title = _("kind")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [("group", _("Group join request")), ("application", _("Application access request"))]

    def queryset(self, request, queryset):
        if self.value() == "group":
            return queryset.filter(application__isnull=True)
        if self.value() == "application":
            return queryset.filter(application__isnull=False)
        return queryset


@admin.register(SelfServiceRequest)
class SelfServiceRequestAdmin(ReadOnlyAdmin):
    area = ""  # not one area: each kind of request by its own capability (tenant_ids, get_queryset)
    list_display = ("created_at", "requester", "kind", "target_name", "justification_text", "status", "decided_by",
                    "tenant")
    list_filter = (StatusFilter, KindFilter)
    list_select_related = ("tenant", "requester", "group", "application", "decided_by")
    search_fields = ("requester__display_name", "requester__mail", "group__display_name",
                     "application__display_name")
    ordering = ("created_at", "id")
    show_full_result_count = False  # one count, not two (the page's query budget)
    readonly_fields = ("tenant", "requester", "kind", "target_name", "justification_text", "status", "created_at",
                       "decided_by", "decided_at", "decision_note")
    fields = readonly_fields
    actions = ["approve_selected", "deny_selected"]
    change_form_template = "admin/directory/selfservicerequest/change_form.html"

    # -- scoping: a kind of request only where the viewer decides that kind
    def tenant_ids(self, request, *, manage: bool = False):
        if request.user.is_superuser:
            return super().tenant_ids(request, manage=manage)
        tenants = decide_tenants(request)
        return tenants["group"] | tenants["application"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        tenants = decide_tenants(request)
        return qs.filter(Q(tenant_id__in=tenants["group"], application__isnull=True)
                         | Q(tenant_id__in=tenants["application"], application__isnull=False))

    # -- columns
    @admin.display(description=_("kind"))
    def kind(self, obj):
        return _("Application access request") if obj.application_id else _("Group join request")

    @admin.display(description=_("requested"))
    def target_name(self, obj):
        return obj.target.display_name

    @admin.display(description=_("business justification"))
    def justification_text(self, obj):
        return obj.justification or "—"

    # -- deciding
    def get_urls(self):
        return [path("<uuid:object_id>/decide/", self.admin_site.admin_view(self.decide_view),
                     name="directory_selfservicerequest_decide"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        found = self.get_object(request, object_id)
        may_decide = found.status == Status.PENDING and self.actor(request, found).may_decide(found)
        return super().change_view(request, object_id, form_url, {
            **(extra_context or {}), "may_decide": may_decide, "note_max": NOTE_MAX,
            "decide_url": reverse("admin:directory_selfservicerequest_decide", args=[found.pk])})

    def decide_view(self, request, object_id):
        """POST: approve or deny one request, with the administrator's note."""
        found = self.get_object(request, object_id)  # another tenant's, or another kind's: 404
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:directory_selfservicerequest_change", args=[found.pk]))
        decided = self._decide(request, [found], approve=request.POST.get("decision") == "approve",
                               note=request.POST.get("note", ""))
        if decided:
            return HttpResponseRedirect(reverse("admin:directory_selfservicerequest_changelist"))
        return HttpResponseRedirect(reverse("admin:directory_selfservicerequest_change", args=[found.pk]))

    def _decide(self, request, found, *, approve: bool, note: str) -> int:
        if "\x00" in note:
            self.message_user(request, _("The note may not contain a NUL character."), messages.ERROR)
            return 0
        if len(note) > NOTE_MAX:
            self.message_user(request, _("The note may be at most %(max)d characters long.") % {"max": NOTE_MAX},
                              messages.ERROR)
            return 0
        count = 0
        for item in found:
            try:
                services.self_service_request_decide(actor=self.actor(request, item), request=item, approve=approve,
                                                     note=note)
            except (PermissionDenied, ValidationError) as exc:
                text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, f"{item}: {text}", messages.ERROR)
            else:
                count += 1
        if count:
            text = ngettext("%d request approved.", "%d requests approved.", count) if approve else \
                ngettext("%d request denied.", "%d requests denied.", count)
            self.message_user(request, text % count, messages.SUCCESS)
        return count

    def _bulk(self, request, queryset, *, approve: bool):
        """Decide the selected requests after asking for the note (an intermediate page, as delete does)."""
        if request.POST.get("confirm") == "yes":
            self._decide(request, list(queryset.select_related("tenant", "requester", "group", "application")),
                         approve=approve, note=request.POST.get("note", ""))
            return None
        return TemplateResponse(request, "admin/directory/selfservicerequest/decide_selected.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "approve": approve,
            "requests": list(queryset.select_related("requester", "group", "application")[:500]),
            "action": "approve_selected" if approve else "deny_selected", "note_max": NOTE_MAX,
            "title": _("Approve requests") if approve else _("Deny requests"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME})

    @admin.action(description=_("Approve the selected requests"))
    def approve_selected(self, request, queryset):
        return self._bulk(request, queryset, approve=True)

    @admin.action(description=_("Deny the selected requests"))
    def deny_selected(self, request, queryset):
        return self._bulk(request, queryset, approve=False)
