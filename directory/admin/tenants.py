"""Tenants, their domains and branding in the admin console."""


from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .. import services
from ..actors import Actor
from ..models import (
    Branding,
    Domain,
    Tenant,
)
from .base import TenantScopedAdmin, tenants_with


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("name", "is_verified")

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser or (obj is not None and obj.pk in tenants_with(request, "tenant",
                                                                                         manage=True))

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    area = "tenant"
    tenant_path = "pk"
    list_display = ("name", "initial_domain", "configuration", "slug", "created_at")
    search_fields = ("name", "initial_domain", "slug")
    list_filter = ("configuration",)
    inlines = [DomainInline]
    fields = ("name", "slug", "initial_domain", "configuration", "privacy_statement_url")

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser  # creating tenants is the operator's

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a whole tenant is not an admin-console action

    def get_readonly_fields(self, request, obj=None):
        return ("initial_domain", "slug") if obj is not None and not request.user.is_superuser else ()

    def get_list_filter(self, request):
        return self.list_filter

    def service_create(self, request, obj, form):
        fields = self.form_fields(obj, form)
        return services.tenant_create(actor=Actor.for_account(request.user, None), **fields)

    def service_update(self, request, obj, changes):
        services.tenant_update(actor=self.actor(request, obj), tenant=obj, changes=changes)

    def save_formset(self, request, form, formset, change):
        # The admin's change message reads these lists, which formset.save() would have filled.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() and not inline_form.instance.pk:
                continue
            instance = inline_form.instance
            if formset.can_delete and formset._should_delete_form(inline_form):
                if instance.pk:
                    services.domain_remove(actor=self.actor(request, form.instance), domain=instance)
                    formset.deleted_objects.append(instance)
            elif instance.pk:
                if inline_form.changed_data:
                    services.domain_update(actor=self.actor(request, form.instance), domain=instance, changes={
                        n: inline_form.cleaned_data[n] for n in inline_form.changed_data})
                    formset.changed_objects.append((instance, inline_form.changed_data))
            else:
                formset.new_objects.append(services.domain_add(
                    actor=self.actor(request, form.instance), tenant=form.instance,
                    **{n: inline_form.cleaned_data[n] for n in ("name", "is_verified")}))


@admin.register(Branding)
class BrandingAdmin(TenantScopedAdmin):
    area = "tenant"
    list_display = ("tenant", "locale_label", "background_color", "accent_color")
    fields = ("tenant", "locale", "banner_logo", "background_color", "accent_color", "sign_in_page_text",
              "username_hint_text")

    @admin.display(description=_("locale"))
    def locale_label(self, obj):
        return obj.locale or _("default")

    def service_create(self, request, obj, form):
        return services.branding_save(actor=self.actor(request, obj), branding=obj)

    def service_update(self, request, obj, changes):
        services.branding_save(actor=self.actor(request, obj), branding=obj, changes=changes)

    def service_delete(self, request, obj):
        services.branding_delete(actor=self.actor(request, obj), branding=obj)
