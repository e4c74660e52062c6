"""Identity providers in the admin console (Entra: External Identities › All identity providers): Google,
Microsoft, OpenID Connect and partner deployments. The client secret is write-only: typed when added or
replaced, never shown again. The page shows the redirect URI to register at the provider."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from directory.admin.base import TenantModelForm, TenantScopedAdmin

from .. import services
from ..federation.oidc import callback_url
from ..models import IdentityProvider
from ..services import IdentityProviderInvalid

#: Form field → the service's keyword for it.
SERVICE_FIELDS = ("display_name", "client_id", "client_secret", "metadata_url", "issuer", "microsoft_tenant",
                  "scope", "domains")
KIND_FIELDS = {
    IdentityProvider.Kind.GOOGLE: ("display_name", "client_id", "client_secret", "domains"),
    IdentityProvider.Kind.MICROSOFT: ("display_name", "client_id", "client_secret", "microsoft_tenant", "domains"),
    IdentityProvider.Kind.OIDC: ("display_name", "client_id", "client_secret", "metadata_url", "scope", "domains"),
    IdentityProvider.Kind.DEPLOYMENT: ("display_name", "client_id", "client_secret", "issuer", "domains"),
}


class IdentityProviderForm(TenantModelForm):
    client_secret = forms.CharField(
        label=_("Client secret"), required=False, max_length=512,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only: it is stored encrypted and never shown again. Leave empty to keep the current one."))
    domain_list = forms.CharField(
        label=_("Domains"), required=False, max_length=3000,
        help_text=_("E-mail domains whose guests sign in here, separated by spaces or commas (Google: gmail.com and "
                    "googlemail.com when empty)."))

    class Meta:
        model = IdentityProvider
        fields = ("tenant", "kind", "display_name", "client_id", "issuer", "metadata_url", "microsoft_tenant", "scope")
        widgets = {"kind": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields.pop("kind", None)
            if not self.is_bound:
                self.initial["domain_list"] = " ".join(self.instance.domains or [])

    def _kind(self) -> str:
        return self.cleaned_data.get("kind") or self.instance.kind

    def service_fields(self) -> dict:
        data = self.cleaned_data
        kind = self._kind()
        fields = {}
        for name in KIND_FIELDS.get(kind, ()):
            if name == "domains":
                fields["domains"] = (data.get("domain_list") or "").replace(",", " ").split()
            elif name == "client_secret":
                if data.get("client_secret") or self.instance._state.adding:
                    fields["client_secret"] = data.get("client_secret") or ""
            elif name == "scope":
                fields["scope"] = data.get("scope") or "openid email profile"
            else:
                fields[name] = data.get(name) or ""
        return fields

    def clean(self):
        data = super().clean()
        tenant = data.get("tenant") or getattr(self.instance, "tenant", None)
        if not self.errors and tenant is not None:
            try:
                services.identity_provider_check(tenant=tenant, kind=self._kind(), fields=self.service_fields(),
                                                 instance=None if self.instance._state.adding else self.instance)
            except IdentityProviderInvalid as exc:
                raise ValidationError(exc.messages[0]) from None
        return data


@admin.register(IdentityProvider)
class IdentityProviderAdmin(TenantScopedAdmin):
    area = "identity_provider"
    form = IdentityProviderForm
    list_display = ("display_name", "kind", "domain_summary", "updated_at", "tenant")
    list_filter = ("kind",)
    search_fields = ("display_name",)
    list_select_related = ("tenant",)
    readonly_fields = ("redirect_uri",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "kind", "display_name", "client_id", "client_secret", "issuer", "metadata_url",
                    "microsoft_tenant", "scope", "domain_list"]
        return ["tenant", "redirect_uri", *[f if f != "domains" else "domain_list" for f in KIND_FIELDS[obj.kind]]]

    @admin.display(description=_("domains"))
    def domain_summary(self, obj):
        domains = obj.domains or []
        return ", ".join(domains[:4]) + (" …" if len(domains) > 4 else "")

    @admin.display(description=_("Redirect URI"))
    def redirect_uri(self, obj):
        if obj is None or obj.tenant_id is None:
            return "—"
        return format_html("<code>{}</code>", callback_url(obj.tenant))

    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.identity_provider_update(actor=self.actor(request, obj), identity_provider=obj,
                                                  **form.service_fields())
            else:
                tenant = form.cleaned_data["tenant"]
                created = services.identity_provider_create(actor=self.actor(request, tenant), tenant=tenant,
                                                            kind=form.cleaned_data["kind"], **form.service_fields())
                obj.pk = created.pk
                obj._state.adding = False
        except IdentityProviderInvalid as exc:
            messages.error(request, exc.messages[0])
            raise

    def delete_model(self, request, obj):
        services.identity_provider_delete(actor=self.actor(request, obj), identity_provider=obj)
