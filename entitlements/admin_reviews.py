"""Access reviews in the admin console: definitions (a form that reads like Entra's "New access review"),
instances with their progress (a chart and a table), decisions, and the actions stop, apply and send
reminder; an instance's results download as CSV. Every write goes through :mod:`entitlements.services`."""

import csv
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from directory.admin.base import ReadOnlyAdmin, TenantModelForm, TenantScopedAdmin
from directory.models import Group, User

from . import services
from .models import AccessReviewDecision, AccessReviewDefinition, AccessReviewInstance

D = AccessReviewDefinition
DI = AccessReviewDecision


class DefinitionForm(TenantModelForm):
    """Entra's wizard on one page: review type, reviewers, settings."""

    reviewer_users = forms.ModelMultipleChoiceField(User.objects.none(), required=False,
                                                    label=_("Selected reviewers (users)"))
    reviewer_groups = forms.ModelMultipleChoiceField(Group.objects.none(), required=False,
                                                     label=_("Selected reviewers (members of these groups)"))
    fallback_users = forms.ModelMultipleChoiceField(
        User.objects.none(), required=False, label=_("Fallback reviewers"),
        help_text=_("They review where the chosen reviewers yield nobody (no owner, manager or sponsor)."))
    inactive_days = forms.IntegerField(min_value=1, max_value=730, required=False,
                                       label=_("Only users inactive for (days)"))
    look_back_days = forms.IntegerField(min_value=1, max_value=730, initial=30,
                                        label=_("Recommendation: no sign-in within (days)"))

    class Meta:
        model = AccessReviewDefinition
        fields = ("tenant", "display_name", "description_for_admins", "description_for_reviewers", "scope_kind",
                  "group", "application", "package", "guests_only", "reviewer_kind", "recurrence",
                  "instance_duration_days", "start_at", "end_date", "auto_apply_decisions_enabled", "default_decision",
                  "denied_guest_action", "recommendations_enabled", "justification_required_on_approval",
                  "mail_notifications_enabled", "reminder_notifications_enabled")
        widgets = {"scope_kind": forms.RadioSelect, "reviewer_kind": forms.RadioSelect,
                   "default_decision": forms.RadioSelect, "denied_guest_action": forms.RadioSelect}

    def __init__(self, *args, tenant_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        users = User.objects.filter(tenant__in=tenant_ids, deleted_at__isnull=True).select_related("tenant")
        for name in ("reviewer_users", "fallback_users"):
            self.fields[name].queryset = users
        self.fields["reviewer_groups"].queryset = Group.objects.filter(tenant__in=tenant_ids)
        definition = self.instance
        if not definition._state.adding:
            self.initial.update(reviewer_users=definition.reviewer_user_ids,
                                reviewer_groups=definition.reviewer_group_ids,
                                fallback_users=definition.fallback_user_ids,
                                look_back_days=definition.recommendation_look_back.days,
                                inactive_days=definition.inactive_duration.days if definition.inactive_duration
                                else None)

    MODEL_FIELDS = ("display_name", "description_for_admins", "description_for_reviewers", "scope_kind", "group",
                    "application", "package", "guests_only", "reviewer_kind", "recurrence", "instance_duration_days",
                    "start_at", "end_date", "auto_apply_decisions_enabled", "default_decision", "denied_guest_action",
                    "recommendations_enabled", "justification_required_on_approval", "mail_notifications_enabled",
                    "reminder_notifications_enabled")

    def clean(self):
        data = super().clean()
        if not self.errors:
            tenant = data.get("tenant") or getattr(self.instance, "tenant", None)
            try:
                services.review_definition_check(tenant=tenant, fields=self.definition_input(),
                                                 definition=None if self.instance._state.adding else self.instance)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    names = {"reviewer_user_ids": "reviewer_users", "reviewer_group_ids": "reviewer_groups",
                             "fallback_user_ids": "fallback_users", "inactive_duration": "inactive_days",
                             "recommendation_look_back": "look_back_days"}
                    for field, errors in exc.message_dict.items():
                        self.add_error(names.get(field, field) if names.get(field, field) in self.fields else None,
                                       errors)
                else:
                    raise
        return data

    def definition_input(self) -> dict:
        data = self.cleaned_data
        fields = {name: data[name] for name in self.MODEL_FIELDS if name in data}
        fields["default_decision_enabled"] = data.get("default_decision") not in (None, "", D.DefaultDecision.NONE)
        fields["reviewer_user_ids"] = [str(u.pk) for u in data.get("reviewer_users") or []]
        fields["reviewer_group_ids"] = [str(g.pk) for g in data.get("reviewer_groups") or []]
        fields["fallback_user_ids"] = [str(u.pk) for u in data.get("fallback_users") or []]
        fields["inactive_duration"] = timedelta(days=data["inactive_days"]) if data.get("inactive_days") else None
        fields["recommendation_look_back"] = timedelta(days=data.get("look_back_days") or 30)
        return fields


@admin.register(AccessReviewDefinition)
class AccessReviewDefinitionAdmin(TenantScopedAdmin):
    form = DefinitionForm
    area = "access_review"
    list_display = ("display_name", "scope_kind", "reviewer_kind", "recurrence", "status", "next_instance_at",
                    "tenant")
    list_filter = ("status", "scope_kind")
    list_select_related = ("tenant",)
    search_fields = ("display_name",)
    list_per_page = 100
    readonly_fields = ("status", "next_instance_at", "instances_link")
    fieldsets = (
        (_("Review type"), {"fields": ("tenant", "display_name", "scope_kind", "group", "application", "package",
                                       "guests_only", "inactive_days")}),
        (_("Reviews"), {"fields": ("reviewer_kind", "reviewer_users", "reviewer_groups", "fallback_users",
                                   "recurrence", "instance_duration_days", "start_at", "end_date")}),
        (_("Upon completion settings"), {"fields": ("auto_apply_decisions_enabled", "default_decision",
                                                    "denied_guest_action")}),
        (_("Enable reviewer decision helpers"), {"fields": ("recommendations_enabled", "look_back_days")}),
        (_("Advanced settings"), {"fields": ("justification_required_on_approval", "mail_notifications_enabled",
                                             "reminder_notifications_enabled", "description_for_reviewers",
                                             "description_for_admins")}),
        (_("Status"), {"fields": ("status", "next_instance_at", "instances_link")}),
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        ids = list(self.tenant_ids(request, manage=True))

        class Scoped(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, tenant_ids=ids, **inner)

        return Scoped

    @admin.display(description=_("Instances"))
    def instances_link(self, obj):
        from django.utils.html import format_html

        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:entitlements_accessreviewinstance_changelist") + f"?definition__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Instances of this review"))

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj is not None else fieldsets[:-1]

    def save_model(self, request, obj, form, change):
        fields = form.definition_input()
        try:
            if change:
                current = AccessReviewDefinition.objects.get(pk=obj.pk)
                changes = {k: v for k, v in fields.items() if getattr(current, k) != v}
                services.review_definition_update(actor=self.actor(request, obj), definition=current, changes=changes)
            else:
                created = services.review_definition_create(actor=self.actor(request, obj.tenant), tenant=obj.tenant,
                                                            **fields)
                obj.pk = created.pk
                obj._state.adding = False
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
            raise

    def save_related(self, request, form, formsets, change):
        pass

    def service_delete(self, request, obj):
        services.review_definition_delete(actor=self.actor(request, obj), definition=obj)


#: (decision, label, colour) in the chart's and table's order.
PROGRESS = ((DI.Decision.APPROVE, _("Approved"), "#107c10"), (DI.Decision.DENY, _("Denied"), "#c50f1f"),
            (DI.Decision.DONT_KNOW, _("Don't know"), "#8764b8"), (DI.Decision.NOT_REVIEWED, _("Not reviewed"), "#8a8886"))


def progress_of(instance_ids) -> dict:
    """{instance id: {decision: count}} in one query."""
    rows = (DI.objects.filter(instance_id__in=list(instance_ids)).values("instance_id")
            .annotate(**{value: Count("pk", filter=Q(decision=value)) for value, _label, _c in PROGRESS}))
    return {row["instance_id"]: row for row in rows}


@admin.register(AccessReviewInstance)
class AccessReviewInstanceAdmin(ReadOnlyAdmin):
    area = "access_review"
    list_display = ("definition", "resource_name", "start_at", "end_at", "status", "progress", "applied_at",
                    "tenant")
    list_filter = ("status",)
    list_select_related = ("definition", "group", "application", "package", "tenant")
    list_per_page = 100
    fields = ("definition", "resource_name", "start_at", "end_at", "status", "completed_at", "applied_at")
    readonly_fields = fields
    change_form_template = "admin/entitlements/accessreviewinstance/change_form.html"

    def get_queryset(self, request):
        # Progress per row: two correlated counts on the (instance, decision, id) index, evaluated for the
        # page's rows only (no state kept on this shared ModelAdmin).
        def count(**condition):
            rows = DI.objects.filter(instance=OuterRef("pk"), **condition).order_by().values("instance")
            return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

        return super().get_queryset(request).annotate(
            decision_count=count(), pending_count=count(decision=DI.Decision.NOT_REVIEWED))

    @admin.display(description=_("Progress"))
    def progress(self, obj):
        total = getattr(obj, "decision_count", None)
        if total is None:
            return "—"
        return _("%(done)s of %(total)s reviewed") % {"done": total - obj.pending_count, "total": total}

    def get_urls(self):
        return [
            path("<uuid:object_id>/action/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name="entitlements_accessreviewinstance_action"),
            path("<uuid:object_id>/results.csv", self.admin_site.admin_view(self.results_view),
                 name="entitlements_accessreviewinstance_results"),
            *super().get_urls(),
        ]

    def _instance(self, request, object_id) -> AccessReviewInstance:
        instance = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, instance):
            raise PermissionDenied
        return instance

    def action_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        instance = self._instance(request, object_id)
        calls = {"stop": (services.review_instance_stop, _("The review was stopped.")),
                 "apply": (services.review_instance_apply, _("The decisions were applied.")),
                 "remind": (services.review_instance_send_reminder, _("Reminders were sent."))}
        if action not in calls:
            raise PermissionDenied
        call, done = calls[action]
        try:
            call(actor=self.actor(request, instance), instance=instance)
            messages.success(request, done)
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        return HttpResponseRedirect(reverse("admin:entitlements_accessreviewinstance_change", args=[instance.pk]))

    def results_view(self, request, object_id):
        """Every decision of the instance as CSV (Entra's "Download results")."""
        instance = self._instance(request, object_id)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="access-review-{instance.pk}.csv"'
        writer = csv.writer(response)
        writer.writerow(["PrincipalId", "PrincipalDisplayName", "UserPrincipalName", "UserType", "Resource",
                         "LastSignIn", "Recommendation", "Decision", "DecidedByDefault", "Justification",
                         "ReviewedBy", "ReviewedDateTime", "ApplyResult", "AppliedDateTime"])
        rows = (DI.objects.filter(instance=instance).select_related("principal", "reviewed_by")
                .order_by("principal__display_name", "pk").iterator(chunk_size=2000))
        for d in rows:
            writer.writerow([d.principal_id, _safe(d.principal.display_name), d.principal.user_principal_name,
                             d.principal.user_type, _safe(instance.resource_name),
                             d.last_sign_in_at.isoformat() if d.last_sign_in_at else "", d.recommendation,
                             d.decision, d.by_default, _safe(d.justification),
                             _safe(d.reviewed_by.display_name) if d.reviewed_by else "",
                             d.reviewed_at.isoformat() if d.reviewed_at else "", d.apply_result,
                             d.applied_at.isoformat() if d.applied_at else ""])
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        instance = self._instance(request, object_id)
        counts = progress_of([instance.pk]).get(instance.pk, {})
        chart = [{"key": value, "label": str(label), "count": counts.get(value, 0), "color": color}
                 for value, label, color in PROGRESS]
        decisions = list(DI.objects.filter(instance=instance).select_related("principal", "reviewed_by")
                         .order_by("principal__display_name", "pk")[:500])
        may_manage = request.user.is_superuser or instance.tenant_id in self.tenant_ids(request, manage=True)
        extra = {"chart": chart, "decisions": decisions, "instance": instance, "may_manage": may_manage,
                 "total": sum(row["count"] for row in chart)}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value and value[0] in "=+-@\t\r" else value


@admin.register(AccessReviewDecision)
class AccessReviewDecisionAdmin(ReadOnlyAdmin):
    area = "access_review"
    tenant_path = "instance__tenant"
    list_display = ("principal", "instance", "recommendation", "decision", "reviewed_by", "reviewed_at",
                    "apply_result")
    list_filter = ("decision", "recommendation", "apply_result")
    list_select_related = ("principal", "instance__definition", "instance__group", "instance__application",
                           "instance__package", "reviewed_by")
    list_per_page = 100
    fields = ("instance", "principal", "access_kind", "last_sign_in_at", "recommendation", "decision",
              "justification", "reviewed_by", "reviewed_at", "by_default", "apply_result", "applied_at")
    readonly_fields = fields

    def _tenant_of(self, obj):
        return obj.instance.tenant_id

    def get_list_filter(self, request):
        return self.list_filter
