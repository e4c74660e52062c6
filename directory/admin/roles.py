"""Directory roles in the admin console."""


from django.contrib import admin

from .. import services
from ..models import (
    RoleAssignment,
)
from .base import TenantScopedAdmin


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(TenantScopedAdmin):
    area = "role"
    list_display = ("user", "role", "tenant", "created_at")
    list_filter = ("role",)
    list_select_related = ("tenant", "user")
    search_fields = ("user__display_name", "user__user_principal_name")
    autocomplete_fields = ("user",)
    fields = ("user", "role")

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = services.role_assign(actor=self.actor(request, form.cleaned_data["user"]), user=form.cleaned_data["user"],
                                       role=form.cleaned_data["role"])
        obj.pk, obj.tenant_id, obj._state.adding = created.pk, created.tenant_id, False

    def save_form(self, request, form, change):
        obj = form.save(commit=False)
        if obj.user_id:
            obj.tenant_id = obj.user.tenant_id
        return obj

    def service_delete(self, request, obj):
        services.role_unassign(actor=self.actor(request, obj), assignment=obj)
