from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from directory.admin.base import TenantModelForm, TenantScopedAdmin

from .. import services
from ..models import CollaborationSettings


class DomainListField(forms.CharField):
    """Domains one per line (or separated by commas or spaces) in the form; a list in the model."""

    # No placeholder: example domains in the box read as if they were already on the list.
    widget = forms.Textarea(attrs={"rows": 6})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [part.strip().lower() for part in text.replace(",", " ").split() if part.strip()]


class CollaborationSettingsForm(TenantModelForm):
    domains = DomainListField(label=_("Domains"), required=False, max_length=40_000,
                              help_text=_("One per line, for example contoso.com; *.fabrikam.com covers all subdomains of "
                                          "fabrikam.com. At most 25 KB."))

    class Meta:
        model = CollaborationSettings
        fields = ("allow_invites_from", "guest_user_role_id", "domain_list_type", "domains", "email_otp_enabled",
                  "self_service_sign_up_enabled", "guests_can_leave", "invitation_lifetime_days")
        widgets = {  # one choice per line (admin_console.css), each readable with its label
            "allow_invites_from": forms.RadioSelect(attrs={"class": "readable-radios"}),
            "guest_user_role_id": forms.RadioSelect(attrs={"class": "readable-radios"}),
            "domain_list_type": forms.RadioSelect(attrs={"class": "readable-radios"}),
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

    def changelist_view(self, request, extra_context=None):
        """A tenant admin has one settings page: open it, not a one-row list."""
        if request.method == "GET" and not request.GET:
            ids = list(self.get_queryset(request).values_list("pk", flat=True)[:2])
            if len(ids) == 1:
                return HttpResponseRedirect(reverse("admin:policies_collaborationsettings_change", args=[ids[0]]))
        return super().changelist_view(request, extra_context)

    def service_update(self, request, obj, changes):
        services.collaboration_settings_update(actor=self.actor(request, obj.tenant), tenant=obj.tenant,
                                               changes=changes)
