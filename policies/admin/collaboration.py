from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from directory.admin.base import TenantModelForm, TenantScopedAdmin

from .. import services
from ..models import CollaborationSettings


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

    def _post_clean(self):
        # The list switch is the service's rule (collaboration_settings_update): the form does not
        # validate a list the service would discard.
        if "domain_list_type" in self.changed_data and "domains" not in self.changed_data:
            self.instance.domains = []
        super()._post_clean()


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

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_list_filter(self, request):
        return ()

    def service_update(self, request, obj, changes):
        services.collaboration_settings_update(actor=self.actor(request, obj.tenant), tenant=obj.tenant,
                                               changes=changes)
