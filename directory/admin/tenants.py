"""Tenants, their domains and branding in the admin console."""


from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
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
    """A domain is verified by its DNS TXT record ("Verify now"), never by a tenant admin's tick; the
    platform operator may still tick the box."""

    model = Domain
    extra = 0
    fields = ("name", "is_verified", "txt_record", "verify")
    template = "admin/directory/tenant/domain_inline.html"  # lists the initial domain first

    def get_readonly_fields(self, request, obj=None):
        readonly = ["txt_record", "verify"]
        if not request.user.is_superuser:
            readonly.append("is_verified")
        return readonly

    @admin.display(description=_("DNS TXT record to publish on the domain"))
    def txt_record(self, domain):
        if domain.pk is None:
            return _("Shown once the domain is saved.")
        if domain.is_verified:
            return "—"
        return format_html("<code>{}</code>", domain.txt_record)

    @admin.display(description=_("verification"))
    def verify(self, domain):
        if domain.pk is None or domain.is_verified:
            return ""
        url = reverse("admin:directory_tenant_verify_domain", args=[domain.tenant_id, domain.pk])
        # A submit button of the tenant's own form (forms cannot nest), sent to the verify view instead.
        return format_html('<button type="submit" class="button" formaction="{}" formnovalidate>{}</button>',
                           url, _("Verify now"))

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
    fieldsets = (
        (None, {"fields": ("name", "slug", "initial_domain", "configuration", "privacy_statement_url")}),
        # Entra: Groups > General (docs/self-service.md); changed with Policy.ReadWrite.Authorization
        (_("Groups in the access panel"), {"fields": services.GROUP_SETTINGS}),
    )

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser  # creating tenants is the operator's

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a whole tenant is not an admin-console action

    def get_readonly_fields(self, request, obj=None):
        return ("initial_domain", "short_name") if obj is not None and not request.user.is_superuser else ()

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        # Read-only for a tenant admin: the short name is shown with its web address.
        return [(name, {**options, "fields": tuple("short_name" if f == "slug" else f for f in options["fields"])})
                for name, options in fieldsets]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "slug" in form.base_fields:
            # The admin prints help text as HTML: the model's "/t/<short name>/" read "/t//".
            form.base_fields["slug"].help_text = self.slug_help(obj)
        return form

    @staticmethod
    def slug_help(obj) -> str:
        address = reverse("directory:panel", kwargs={"slug": obj.slug}) if obj is not None and obj.slug else "/t/…/"
        return format_html(_("Used in the tenant's web addresses, such as {}"), format_html("<code>{}</code>", address))

    @admin.display(description=_("short name"))
    def short_name(self, obj):
        return format_html("{} — {}", obj.slug, self.slug_help(obj))

    def get_list_filter(self, request):
        return self.list_filter

    def get_urls(self):
        return [
            path("<uuid:tenant_id>/domains/<int:domain_id>/verify/", self.admin_site.admin_view(self.verify_domain_view),
                 name="directory_tenant_verify_domain"),
            *super().get_urls(),
        ]

    def verify_domain_view(self, request, tenant_id, domain_id):
        """"Verify now": look the domain's TXT record up in DNS (POST only), then back to the tenant."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        tenant = self.get_object(request, str(tenant_id))
        if not self.has_change_permission(request, tenant):
            raise PermissionDenied
        domain = get_object_or_404(Domain, tenant=tenant, pk=domain_id)
        try:
            services.domain_verify(actor=self.actor(request, tenant), domain=domain)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, _("The domain %(domain)s is verified.") % {"domain": domain.name}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:directory_tenant_change", args=[tenant.pk]))

    def service_create(self, request, obj, form):
        fields = self.form_fields(obj, form)
        return services.tenant_create(actor=Actor.for_account(request.user, None), **fields)

    def service_update(self, request, obj, changes):
        group_settings = {k: changes.pop(k) for k in list(changes) if k in services.GROUP_SETTINGS}
        if changes:
            services.tenant_update(actor=self.actor(request, obj), tenant=obj, changes=changes)
        if group_settings:
            services.tenant_group_settings_update(actor=self.actor(request, obj), tenant=obj, changes=group_settings)

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
                    name=inline_form.cleaned_data["name"],
                    is_verified=bool(inline_form.cleaned_data.get("is_verified"))))  # the operator's box only


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
