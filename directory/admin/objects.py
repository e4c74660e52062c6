"""Groups, applications and their assignments in the admin console."""


from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import models as dj_models
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import (
    Application,
    AppRoleAssignment,
    Group,
)
from .base import NamesFirstSearch, TenantModelForm, TenantScopedAdmin


class GroupForm(TenantModelForm):
    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or (self.instance.tenant if self.instance.tenant_id else None)
        if tenant:
            for name in ("owners", "members"):
                try:
                    services.ensure_same_tenant(tenant, cleaned.get(name) or [], field=name)
                except ValidationError as exc:
                    self._update_errors(exc)
        return cleaned


@admin.register(Group)
class GroupAdmin(NamesFirstSearch, TenantScopedAdmin):
    area = "group"
    form = GroupForm
    list_display = ("display_name", "description", "members_can_join", "join_requires_approval", "member_count",
                    "tenant")
    list_filter = ("members_can_join", "join_requires_approval")
    search_fields = ("display_name", "description")
    list_select_related = ("tenant",)
    autocomplete_fields = ("owners", "members")
    ordering = ("display_name", "id")  # the member-count annotation drops the model's ordering
    fields = ("tenant", "display_name", "description", "members_can_join", "join_requires_approval", "owners",
              "members")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=dj_models.Count("members", distinct=True))

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj):
        return obj._members

    def service_create(self, request, obj, form):
        tenant = form.cleaned_data["tenant"]
        return services.group_create(actor=self.actor(request, tenant), tenant=tenant, **self.form_fields(obj, form))

    def service_update(self, request, obj, changes):
        services.group_update(actor=self.actor(request, obj), group=obj, changes=changes)

    def service_delete(self, request, obj):
        services.group_delete(actor=self.actor(request, obj), group=obj)


class ApplicationForm(TenantModelForm):
    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or (self.instance.tenant if self.instance.tenant_id else None)
        if tenant:
            for name in ("owners", "self_service_approvers"):
                try:
                    services.ensure_same_tenant(tenant, cleaned.get(name) or [], field=name)
                except ValidationError as exc:
                    self._update_errors(exc)
            try:
                services.ensure_same_tenant(tenant, [cleaned.get("self_service_group")], field="self_service_group")
            except ValidationError as exc:
                self._update_errors(exc)
        return cleaned


class AssignmentInline(admin.TabularInline):
    model = AppRoleAssignment
    extra = 0
    fields = ("user", "group", "created_at")
    readonly_fields = ("user", "group", "created_at")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "group")


@admin.register(Application)
class ApplicationAdmin(NamesFirstSearch, TenantScopedAdmin):
    area = "application"
    form = ApplicationForm
    list_display = ("logo_thumb", "display_name", "launch_url", "assignment_required", "visible_to_users", "tenant")
    list_display_links = ("logo_thumb", "display_name")
    list_filter = ("assignment_required", "visible_to_users")
    search_fields = ("display_name", "description")
    list_select_related = ("tenant",)
    autocomplete_fields = ("owners", "self_service_group", "self_service_approvers")
    inlines = [AssignmentInline]
    fieldsets = (
        (None, {"fields": ("tenant", "display_name", "description", "launch_url", "logo", "assignment_required",
                           "visible_to_users", "owners", "app_id")}),
        # Entra's "Self-service" tab of an enterprise application
        (_("Self-service"), {"fields": ("self_service_enabled", "self_service_group", "self_service_requires_approval",
                                        "self_service_approvers")}),
    )
    readonly_fields = ("app_id",)

    @admin.display(description="")
    def logo_thumb(self, obj):
        if obj.logo:
            return format_html('<img src="{}" alt="" width="24" height="24" style="border-radius:4px">', obj.logo.url)
        return ""

    def service_create(self, request, obj, form):
        fields = self.form_fields(obj, form)
        fields.pop("app_id", None)
        tenant = form.cleaned_data["tenant"]
        return services.application_create(actor=self.actor(request, tenant), tenant=tenant, **fields)

    def service_update(self, request, obj, changes):
        services.application_update(actor=self.actor(request, obj), application=obj, changes=changes)

    def service_delete(self, request, obj):
        services.application_delete(actor=self.actor(request, obj), application=obj)


class AssignmentForm(TenantModelForm):
    def clean(self):
        cleaned = super().clean()
        app = cleaned.get("application")
        if app:
            for name in ("user", "group"):
                try:
                    services.ensure_same_tenant(app.tenant, [cleaned.get(name)], field=name)
                except ValidationError as exc:
                    self._update_errors(exc)
        return cleaned


@admin.register(AppRoleAssignment)
class AppRoleAssignmentAdmin(TenantScopedAdmin):
    area = "application"
    form = AssignmentForm
    list_display = ("application", "user", "group", "created_at", "tenant")
    list_select_related = ("tenant", "application", "user", "group")
    autocomplete_fields = ("application", "user", "group")
    fields = ("application", "user", "group")
    search_fields = ("application__display_name", "user__display_name", "group__display_name")

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = services.app_assignment_create(
            actor=self.actor(request, form.cleaned_data["application"]),
            application=form.cleaned_data["application"],
            user=form.cleaned_data.get("user"), group=form.cleaned_data.get("group"),
        )
        obj.pk, obj.tenant_id, obj._state.adding = created.pk, created.tenant_id, False

    def save_form(self, request, form, change):
        obj = form.save(commit=False)
        if obj.application_id:
            obj.tenant_id = obj.application.tenant_id
        return obj

    def service_delete(self, request, obj):
        services.app_assignment_delete(actor=self.actor(request, obj), assignment=obj)
