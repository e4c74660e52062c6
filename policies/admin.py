from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from directory.admin import TenantModelForm, TenantScopedAdmin

from . import services
from .models import CollaborationSettings


class DomainListField(forms.CharField):
    """Domains one per line (or separated by commas or spaces) in the form; a list in the model."""

    widget = forms.Textarea(attrs={"rows": 6, "placeholder": "contoso.com\n*.fabrikam.com"})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [part.strip().lower() for part in text.replace(",", " ").split() if part.strip()]


class CollaborationSettingsForm(TenantModelForm):
    domains = DomainListField(label=_("Domains"), required=False, max_length=40_000,
                              help_text=_("One per line. *.example.com covers all subdomains. At most 25 KB."))

    class Meta:
        model = CollaborationSettings
        fields = ("allow_invites_from", "guest_user_role_id", "domain_list_type", "domains", "email_otp_enabled",
                  "self_service_sign_up_enabled", "guests_can_leave", "invitation_lifetime_days")
        widgets = {
            "allow_invites_from": forms.RadioSelect,
            "guest_user_role_id": forms.RadioSelect,
            "domain_list_type": forms.RadioSelect,
        }

    def clean(self):
        cleaned = super().clean()
        # Switching list type discards the old list unless new domains were typed in.
        if ("domain_list_type" in self.changed_data and "domains" not in self.changed_data
                and self.instance.pk):
            cleaned["domains"] = []
            self.instance.domains = []
        if cleaned.get("domain_list_type") == CollaborationSettings.DomainListType.NONE and cleaned.get("domains"):
            raise ValidationError({"domains": _("Choose allow or deny before listing domains.")})
        return cleaned


@admin.register(CollaborationSettings)
class CollaborationSettingsAdmin(TenantScopedAdmin):
    area = "policy"
    form = CollaborationSettingsForm
    list_display = ("tenant", "allow_invites_from", "guest_user_role_id", "domain_list_type", "email_otp_enabled")
    list_select_related = ("tenant",)
    fieldsets = (
        (_("Guest user access"), {"fields": ("guest_user_role_id",)}),
        (_("Guest invite settings"), {"fields": ("allow_invites_from", "email_otp_enabled",
                                                 "self_service_sign_up_enabled", "invitation_lifetime_days")}),
        (_("External user leave settings"), {"fields": ("guests_can_leave",)}),
        (_("Collaboration restrictions"), {"fields": ("domain_list_type", "domains")}),
    )

    def get_queryset(self, request):
        # Every tenant the viewer may see has a settings page, even before anyone changed it.
        services.collaboration_settings_ensure(tenants=list(self.tenant_ids(request)))
        return super().get_queryset(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_list_filter(self, request):
        return ()

    def service_update(self, request, obj, changes):
        if "domain_list_type" in changes and "domains" not in changes:
            changes["domains"] = []
        services.collaboration_settings_update(actor=request.user, tenant=obj.tenant, changes=changes)
