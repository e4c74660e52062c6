"""Terms of use in the admin console (Entra: Conditional Access › Terms of use): the terms per language
(text or PDF), "require users to expand", re-acceptance, and who accepted which version, when and from
where. Writes go through the services, as the API's do."""

import base64

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from directory.admin.base import ReadOnlyAdmin, TenantModelForm, TenantScopedAdmin

from .. import services
from ..conditional_access import PolicyInvalid
from ..models import Agreement, AgreementAcceptance


class AgreementForm(TenantModelForm):
    text_en = forms.CharField(label=_("Terms (English)"), required=False, widget=forms.Textarea(attrs={"rows": 8}))
    text_de = forms.CharField(label=_("Terms (German)"), required=False, widget=forms.Textarea(attrs={"rows": 8}))
    pdf_en = forms.FileField(label=_("or a PDF (English)"), required=False)
    pdf_de = forms.FileField(label=_("or a PDF (German)"), required=False)
    require_reaccept = forms.BooleanField(label=_("Require everyone to accept again (a new version)"),
                                          required=False)

    class Meta:
        model = Agreement
        fields = ("tenant", "display_name", "is_viewing_before_acceptance_required",
                  "user_reaccept_required_frequency_days")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding and not self.is_bound:
            for f in self.instance.files.all():
                if f.language in ("en", "de"):
                    self.initial[f"text_{f.language}"] = f.text

    def agreement_files(self) -> list[dict]:
        files = []
        for language in ("en", "de"):
            pdf = self.cleaned_data.get(f"pdf_{language}")
            text = self.cleaned_data.get(f"text_{language}") or ""
            if pdf:
                files.append({"language": language, "fileName": pdf.name, "isDefault": language == "en",
                              "fileData": {"data": base64.b64encode(pdf.read()).decode()}})
            elif text.strip():
                files.append({"language": language, "text": text, "isDefault": language == "en"})
        return files

    def graph_shape(self) -> dict:
        days = self.cleaned_data.get("user_reaccept_required_frequency_days")
        data = {"displayName": self.cleaned_data["display_name"],
                "isViewingBeforeAcceptanceRequired": self.cleaned_data["is_viewing_before_acceptance_required"],
                "userReacceptRequiredFrequency": f"P{days}D" if days else None}
        files = self.agreement_files()
        if files:
            data["files"] = files
        return data


@admin.register(Agreement)
class AgreementAdmin(TenantScopedAdmin):
    area = "terms_of_use"
    form = AgreementForm
    list_display = ("display_name", "version", "is_viewing_before_acceptance_required",
                    "user_reaccept_required_frequency_days", "tenant")
    search_fields = ("display_name",)
    list_select_related = ("tenant",)

    def get_fields(self, request, obj=None):
        fields = ["tenant", "display_name", "is_viewing_before_acceptance_required",
                  "user_reaccept_required_frequency_days", "text_en", "pdf_en", "text_de", "pdf_de"]
        return fields + (["require_reaccept"] if obj is not None else [])

    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.agreement_update(actor=self.actor(request, obj), agreement=obj, changes=form.graph_shape(),
                                          require_reaccept=form.cleaned_data.get("require_reaccept", False))
            else:
                tenant = form.cleaned_data["tenant"]
                created = services.agreement_create(actor=self.actor(request, tenant), tenant=tenant,
                                                    data=form.graph_shape())
                obj.pk = created.pk
                obj._state.adding = False
        except PolicyInvalid as exc:
            messages.error(request, exc.messages[0])
            raise

    def delete_model(self, request, obj):
        services.agreement_delete(actor=self.actor(request, obj), agreement=obj)


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(ReadOnlyAdmin):
    area = "terms_of_use"
    list_display = ("user", "agreement", "agreement_version", "state", "recorded_at", "expires_at", "ip_address")
    list_filter = ("state",)
    list_select_related = ("user", "agreement", "tenant")
    search_fields = ("user__display_name", "user__user_principal_name")
    date_hierarchy = None
