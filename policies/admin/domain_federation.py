"""SAML/WS-Fed identity providers in the admin console (Entra: External Identities › All identity providers
› SAML/WS-Fed): add one from the partner's metadata document or by hand (issuer, passive endpoint,
certificate pasted or uploaded), with its domains; the page shows what to give the partner (this
configuration's SP metadata URL, entity ID and assertion consumer service)."""

from __future__ import annotations

import base64

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from directory.admin.base import TenantModelForm, TenantScopedAdmin

from .. import saml, services
from ..domain_federation import (
    MAX_CERTIFICATE_CHARS,
    FederationInvalid,
    certificate_info,
    clean_certificate,
    clean_display_name,
    clean_domain_list,
    clean_https_url,
    clean_issuer_uri,
    parse_idp_metadata,
)
from ..models import ExternalDomainFederation


class FederationForm(TenantModelForm):
    metadata_xml = forms.CharField(
        label=_("Metadata document"), required=False, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Paste the partner's SAML 2.0 metadata XML to fill in the issuer URI, the passive "
                    "authentication endpoint and the signing certificate."))
    certificate_file = forms.FileField(label=_("Certificate file"), required=False,
                                       help_text=_("Or upload the signing certificate (.cer, .crt, .pem)."))
    domains_text = forms.CharField(label=_("Domains"), widget=forms.Textarea(attrs={"rows": 3}),
                                   help_text=_("The partner's domains, one per line (e.g. fabrikam.com)."))

    class Meta:
        model = ExternalDomainFederation
        fields = ("tenant", "display_name", "preferred_authentication_protocol", "issuer_uri",
                  "passive_sign_in_uri", "metadata_exchange_uri", "signing_certificate")
        widgets = {"preferred_authentication_protocol": forms.RadioSelect,
                   "signing_certificate": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("issuer_uri", "passive_sign_in_uri", "signing_certificate"):
            self.fields[name].required = False  # the metadata document may give them
        if not self.instance._state.adding and not self.is_bound:
            self.initial["domains_text"] = "\n".join(self.instance.domains.values_list("name", flat=True))

    def clean(self):
        data = super().clean()
        tenant = data.get("tenant") or getattr(self.instance, "tenant", None)
        if self.errors or tenant is None:
            return data
        try:
            if data.get("metadata_xml"):
                parsed = parse_idp_metadata(data["metadata_xml"])
                data["issuer_uri"] = data.get("issuer_uri") or parsed.issuer_uri
                data["passive_sign_in_uri"] = data.get("passive_sign_in_uri") or parsed.passive_sign_in_uri
                data["signing_certificate"] = data.get("signing_certificate") or parsed.signing_certificate
            upload = data.get("certificate_file")
            if upload:
                raw = upload.read(MAX_CERTIFICATE_CHARS + 1)
                data["signing_certificate"] = clean_certificate(
                    raw.decode("ascii", "replace") if b"-----BEGIN" in raw else base64.b64encode(raw).decode())
            for name in ("issuer_uri", "passive_sign_in_uri", "signing_certificate"):
                if not data.get(name):
                    raise FederationInvalid(_("Give the %(field)s, or paste the partner's metadata document.")
                                            % {"field": self.fields[name].label})
            data["display_name"] = clean_display_name(data.get("display_name"))
            data["issuer_uri"] = clean_issuer_uri(data["issuer_uri"])
            data["passive_sign_in_uri"] = clean_https_url(data["passive_sign_in_uri"], "passiveSignInUri",
                                                          required=True)
            data["metadata_exchange_uri"] = clean_https_url(data.get("metadata_exchange_uri"), "metadataExchangeUri",
                                                            required=False)
            data["signing_certificate"] = clean_certificate(data["signing_certificate"])
            data["domains"] = clean_domain_list(data.get("domains_text", "").split(), tenant=tenant,
                                                federation_id=self.instance.pk if not self.instance._state.adding
                                                else None)
            if not data["domains"]:
                raise FederationInvalid(_("A SAML/WS-Fed identity provider needs at least one domain."))
        except FederationInvalid as exc:
            raise ValidationError(exc.messages[0]) from None
        return data

    def graph_shape(self) -> dict:
        data = self.cleaned_data
        return {"displayName": data["display_name"], "issuerUri": data["issuer_uri"],
                "passiveSignInUri": data["passive_sign_in_uri"], "metadataExchangeUri": data["metadata_exchange_uri"],
                "preferredAuthenticationProtocol": data["preferred_authentication_protocol"],
                "signingCertificate": data["signing_certificate"]}


@admin.register(ExternalDomainFederation)
class ExternalDomainFederationAdmin(TenantScopedAdmin):
    area = "identity_provider"
    form = FederationForm
    list_display = ("display_name", "domain_list", "preferred_authentication_protocol", "certificate_expires",
                    "tenant")
    list_filter = ("preferred_authentication_protocol",)
    search_fields = ("display_name", "issuer_uri", "domains__name")
    list_select_related = ("tenant",)
    readonly_fields = ("sp_metadata_url", "sp_entity_id", "sp_acs_url", "certificate_summary")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("domains")

    def get_fieldsets(self, request, obj=None):
        main = ["tenant", "display_name", "preferred_authentication_protocol", "domains_text"]
        idp = ["metadata_xml", "issuer_uri", "passive_sign_in_uri", "metadata_exchange_uri", "signing_certificate",
               "certificate_file"]
        sets = [(None, {"fields": main}), (_("The partner's identity provider"), {"fields": idp})]
        if obj is not None:
            idp.append("certificate_summary")
            sets.insert(1, (_("Give these to the partner"), {
                "fields": ["sp_metadata_url", "sp_entity_id", "sp_acs_url"],
                "description": _("The partner configures its identity provider with this service provider: the "
                                 "metadata URL has it all. Name ID: persistent; claim: emailaddress.")}))
        return sets

    @admin.display(description=_("domains"))
    def domain_list(self, obj):
        return ", ".join(d.name for d in obj.domains.all())

    @admin.display(description=_("certificate expires"))
    def certificate_expires(self, obj):
        info = certificate_info(obj.signing_certificate)
        return info.get("not_after").date() if info else "—"

    @admin.display(description=_("SP metadata URL"))
    def sp_metadata_url(self, obj):
        url = saml.sp_entity_id(obj)
        return format_html('<a href="{}" class="copyable"><code>{}</code></a>', url, url)

    @admin.display(description=_("Entity ID (audience)"))
    def sp_entity_id(self, obj):
        return format_html("<code>{}</code>", saml.sp_entity_id(obj))

    @admin.display(description=_("Assertion consumer service (HTTP-POST)"))
    def sp_acs_url(self, obj):
        return format_html("<code>{}</code>", saml.acs_url(obj))

    @admin.display(description=_("Certificate"))
    def certificate_summary(self, obj):
        info = certificate_info(obj.signing_certificate)
        if not info:
            return "—"
        return format_html("{} · {} {}", info["subject"], _("valid until"), info["not_after"].strftime("%Y-%m-%d"))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            actor = self.actor(request, obj)
            services.saml_federation_update(actor=actor, federation=obj, changes=form.graph_shape())
            existing = {d.name: d for d in obj.domains.all()}
            for name in data["domains"]:
                if name not in existing:
                    services.saml_federation_domain_add(actor=actor, federation=obj, name=name)
            for name, domain in existing.items():
                if name not in data["domains"]:
                    services.saml_federation_domain_remove(actor=actor, domain=domain)
            obj.refresh_from_db()
        else:
            tenant = data["tenant"]
            created = services.saml_federation_create(actor=self.actor(request, tenant), tenant=tenant,
                                                      data=form.graph_shape(),
                                                      domains=[{"id": d} for d in data["domains"]])
            obj.pk = created.pk
            obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # the domains were saved by the services

    def delete_model(self, request, obj):
        services.saml_federation_delete(actor=self.actor(request, obj), federation=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def get_deleted_objects(self, objs, request):
        # The domains go with their configuration (no separate permission is asked for them).
        deleted, _model_count, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, _model_count, set(), protected
