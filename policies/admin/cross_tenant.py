"""Cross-tenant access settings in the admin console, as Entra's pages have them (External Identities ›
Cross-tenant access settings): **Default settings** and **Organizational settings**, each with an
**Inbound access** and an **Outbound access** tab. B2B collaboration is set as Entra asks it: allow or block,
all or selected external users and groups (by object ID), all or selected applications; trust settings and
automatic redemption on the inbound tab. An organization's tab starts as "Inherited from default" until
customized. Every save goes through the services (their rules and audit)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from directory.admin.base import TenantModelForm, TenantScopedAdmin

from .. import services
from ..cross_tenant import DEFAULT_FIELDS, PARTNER_FIELDS, CrossTenantSettingsInvalid, validate_changes
from ..models import CrossTenantAccessDefault, CrossTenantAccessPartner
from ..models.cross_tenant import ALL_APPLICATIONS, ALL_USERS, FALLBACK_PROVIDER_TYPES, PRIMARY_PROVIDER_TYPES

ACCESS = [("allowed", _("Allow access")), ("blocked", _("Block access"))]
SCOPE_USERS = [("all", _("All external users and groups")), ("selected", _("Select external users and groups"))]
SCOPE_OUR_USERS = [("all", _("All users")), ("selected", _("Select users and groups"))]
SCOPE_APPS = [("all", _("All applications")), ("selected", _("Select applications"))]
INHERIT = [("inherit", _("Default settings")), ("customize", _("Customize settings"))]
IDS_HELP = _("Object IDs, one per line.")


def _ids(text: str) -> list[str]:
    return [part for part in (text or "").replace(",", " ").split() if part]


class _Direction:
    """The form fields of one B2B collaboration direction ("inbound" or "outbound")."""

    def __init__(self, prefix: str, users_scope):
        self.prefix = prefix
        self.fields = {
            f"{prefix}_users_access": forms.ChoiceField(label=_("Access status"), choices=ACCESS,
                                                        widget=forms.RadioSelect, initial="allowed"),
            f"{prefix}_users_scope": forms.ChoiceField(label=_("Applies to"), choices=users_scope,
                                                       widget=forms.RadioSelect, initial="all"),
            f"{prefix}_user_ids": forms.CharField(label=_("Users"), required=False, help_text=IDS_HELP,
                                                  widget=forms.Textarea(attrs={"rows": 3})),
            f"{prefix}_group_ids": forms.CharField(label=_("Groups"), required=False, help_text=IDS_HELP,
                                                   widget=forms.Textarea(attrs={"rows": 3})),
            f"{prefix}_apps_access": forms.ChoiceField(label=_("Applications: access status"), choices=ACCESS,
                                                       widget=forms.RadioSelect, initial="allowed"),
            f"{prefix}_apps_scope": forms.ChoiceField(label=_("Applies to"), choices=SCOPE_APPS,
                                                      widget=forms.RadioSelect, initial="all"),
            f"{prefix}_app_ids": forms.CharField(label=_("Applications"), required=False,
                                                 help_text=_("Application (client) IDs, one per line."),
                                                 widget=forms.Textarea(attrs={"rows": 3})),
        }

    def initial(self, setting: dict | None) -> dict:
        if not setting:
            return {}
        users, apps = setting["usersAndGroups"], setting["applications"]
        p = self.prefix
        every_user = any(t["target"] == ALL_USERS for t in users["targets"])
        every_app = any(t["target"] == ALL_APPLICATIONS for t in apps["targets"])
        return {
            f"{p}_users_access": users["accessType"], f"{p}_users_scope": "all" if every_user else "selected",
            f"{p}_user_ids": "\n".join(t["target"] for t in users["targets"] if t["targetType"] == "user"
                                       and t["target"] != ALL_USERS),
            f"{p}_group_ids": "\n".join(t["target"] for t in users["targets"] if t["targetType"] == "group"),
            f"{p}_apps_access": apps["accessType"], f"{p}_apps_scope": "all" if every_app else "selected",
            f"{p}_app_ids": "\n".join(t["target"] for t in apps["targets"] if t["target"] != ALL_APPLICATIONS),
        }

    def setting(self, data: dict) -> dict:
        p = self.prefix
        if data.get(f"{p}_users_scope") == "all":
            users = [{"target": ALL_USERS, "targetType": "user"}]
        else:
            users = ([{"target": i, "targetType": "user"} for i in _ids(data.get(f"{p}_user_ids"))]
                     + [{"target": i, "targetType": "group"} for i in _ids(data.get(f"{p}_group_ids"))])
        if data.get(f"{p}_apps_scope") == "all":
            apps = [{"target": ALL_APPLICATIONS, "targetType": "application"}]
        else:
            apps = [{"target": i, "targetType": "application"} for i in _ids(data.get(f"{p}_app_ids"))]
        return {"usersAndGroups": {"accessType": data.get(f"{p}_users_access"), "targets": users},
                "applications": {"accessType": data.get(f"{p}_apps_access"), "targets": apps}}


INBOUND = _Direction("inbound", SCOPE_USERS)
OUTBOUND = _Direction("outbound", SCOPE_OUR_USERS)
TRUST_FIELDS = {
    "trust_mfa": forms.BooleanField(label=_("Trust multifactor authentication from Microsoft Entra tenants"),
                                    required=False),
    "trust_compliant_device": forms.BooleanField(label=_("Trust compliant devices"), required=False),
}


# The tabs' fields, declared on a base form (the admin checks its fieldsets against declared fields).
_Fields = type("_Fields", (TenantModelForm,), {**INBOUND.fields, **OUTBOUND.fields, **TRUST_FIELDS,
                                               "__module__": __name__})


class _CrossTenantForm(_Fields):
    is_default = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        obj = self.instance
        fallback = CrossTenantAccessDefault()
        self.initial.update(INBOUND.initial(obj.b2b_collaboration_inbound or fallback.b2b_collaboration_inbound))
        self.initial.update(OUTBOUND.initial(obj.b2b_collaboration_outbound or fallback.b2b_collaboration_outbound))
        trust = obj.inbound_trust or {}
        self.initial.update(trust_mfa=trust.get("isMfaAccepted", False),
                            trust_compliant_device=trust.get("isCompliantDeviceAccepted", False))

    def graph_changes(self) -> dict:
        """The form as Graph's properties (what the services take)."""
        data = self.cleaned_data
        return {
            "b2bCollaborationInbound": INBOUND.setting(data), "b2bCollaborationOutbound": OUTBOUND.setting(data),
            "inboundTrust": {"isMfaAccepted": data.get("trust_mfa", False),
                             "isCompliantDeviceAccepted": data.get("trust_compliant_device", False),
                             "isHybridAzureADJoinedDeviceAccepted": False},
        }

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                validate_changes(self.graph_changes(), fields=DEFAULT_FIELDS if self.is_default else PARTNER_FIELDS,
                                 is_default=self.is_default)
            except CrossTenantSettingsInvalid as exc:
                raise ValidationError(exc.messages[0]) from None
        return data


class CrossTenantDefaultForm(_CrossTenantForm):
    is_default = True
    primary_order = forms.CharField(
        label=_("Primary identity providers, in order"), required=False,
        help_text=_("One per line, first tried first: %(choices)s.") % {"choices": ", ".join(PRIMARY_PROVIDER_TYPES)},
        widget=forms.Textarea(attrs={"rows": 3}))
    fallback_provider = forms.ChoiceField(label=_("Fallback identity provider"),
                                          choices=[(v, v) for v in FALLBACK_PROVIDER_TYPES])

    class Meta:
        model = CrossTenantAccessDefault
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = self.instance.invitation_redemption_identity_provider_configuration or {}
        self.initial.update(primary_order="\n".join(config.get("primaryIdentityProviderPrecedenceOrder", [])),
                            fallback_provider=config.get("fallbackIdentityProvider"))

    def graph_changes(self) -> dict:
        changes = super().graph_changes()
        changes["invitationRedemptionIdentityProviderConfiguration"] = {
            "primaryIdentityProviderPrecedenceOrder": _ids(self.cleaned_data.get("primary_order")),
            "fallbackIdentityProvider": self.cleaned_data.get("fallback_provider")}
        return changes


class CrossTenantPartnerForm(_CrossTenantForm):
    inbound_mode = forms.ChoiceField(label=_("Inbound access"), choices=INHERIT, widget=forms.RadioSelect,
                                     initial="inherit")
    outbound_mode = forms.ChoiceField(label=_("Outbound access"), choices=INHERIT, widget=forms.RadioSelect,
                                      initial="inherit")
    trust_mode = forms.ChoiceField(label=_("Trust settings"), choices=INHERIT, widget=forms.RadioSelect,
                                   initial="inherit")
    auto_redeem_inbound = forms.BooleanField(
        label=_("Automatically redeem invitations with the tenant"), required=False,
        help_text=_("Consent is skipped only if the other tenant also ticks it on its outbound side."))
    auto_redeem_outbound = forms.BooleanField(
        label=_("Automatically redeem invitations with the tenant"), required=False,
        help_text=_("Suppresses consent prompts for your users in the other tenant, if it also ticks it inbound."))

    class Meta:
        model = CrossTenantAccessPartner
        fields = ("tenant", "partner_tenant_id", "issuer")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        obj = self.instance
        consent = obj.automatic_user_consent_settings or {}
        self.initial.update(
            inbound_mode="customize" if obj.b2b_collaboration_inbound is not None else "inherit",
            outbound_mode="customize" if obj.b2b_collaboration_outbound is not None else "inherit",
            trust_mode="customize" if obj.inbound_trust is not None else "inherit",
            auto_redeem_inbound=consent.get("inboundAllowed", False),
            auto_redeem_outbound=consent.get("outboundAllowed", False))

    def graph_changes(self) -> dict:
        changes = super().graph_changes()
        data = self.cleaned_data
        for mode, name in (("inbound_mode", "b2bCollaborationInbound"), ("outbound_mode", "b2bCollaborationOutbound"),
                           ("trust_mode", "inboundTrust")):
            if data.get(mode) != "customize":
                changes[name] = None
        changes["automaticUserConsentSettings"] = {"inboundAllowed": data.get("auto_redeem_inbound", False),
                                                   "outboundAllowed": data.get("auto_redeem_outbound", False)}
        return changes


def _tabs(direction: _Direction, extra=()) -> tuple:
    p = direction.prefix
    return ((f"{p}_users_access", f"{p}_users_scope", f"{p}_user_ids", f"{p}_group_ids"),
            (f"{p}_apps_access", f"{p}_apps_scope", f"{p}_app_ids"), extra)


class _CrossTenantAdmin(TenantScopedAdmin):
    area = "cross_tenant"
    change_form_template = "admin/policies/cross_tenant/change_form.html"

    def get_fieldsets(self, request, obj=None):
        users_in, apps_in, _x = _tabs(INBOUND)
        users_out, apps_out, _y = _tabs(OUTBOUND)
        head = self.head_fieldsets(obj)
        inbound_mode = ("inbound_mode",) if self.model is CrossTenantAccessPartner else ()
        outbound_mode = ("outbound_mode",) if self.model is CrossTenantAccessPartner else ()
        trust_mode = ("trust_mode",) if self.model is CrossTenantAccessPartner else ()
        auto_in = ("auto_redeem_inbound",) if self.model is CrossTenantAccessPartner else ()
        auto_out = ("auto_redeem_outbound",) if self.model is CrossTenantAccessPartner else ()
        return (*head,
                (_("B2B collaboration: external users and groups"), {"fields": (*inbound_mode, *users_in),
                                                                      "classes": ("tab-inbound",)}),
                (_("B2B collaboration: applications"), {"fields": apps_in, "classes": ("tab-inbound",)}),
                (_("Trust settings"), {"fields": (*trust_mode, "trust_mfa", "trust_compliant_device"),
                                       "classes": ("tab-inbound",)}),
                *(((_("Automatic redemption"), {"fields": auto_in, "classes": ("tab-inbound",)}),) if auto_in else ()),
                (_("B2B collaboration: users and groups"), {"fields": (*outbound_mode, *users_out),
                                                            "classes": ("tab-outbound",)}),
                (_("B2B collaboration: external applications"), {"fields": apps_out, "classes": ("tab-outbound",)}),
                *(((_("Automatic redemption"), {"fields": auto_out, "classes": ("tab-outbound",)}),)
                  if auto_out else ()),
                *self.tail_fieldsets(obj))

    def head_fieldsets(self, obj):
        return ()

    def tail_fieldsets(self, obj):
        return ()

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields += [f for f in ("partner_tenant_id", "issuer") if hasattr(obj, f)]
        return fields

    def save_model(self, request, obj, form, change):
        try:
            self.save_through_service(request, obj, form, change)
        except CrossTenantSettingsInvalid as exc:
            messages.error(request, exc.messages[0])
            raise

    def save_related(self, request, form, formsets, change):
        pass


@admin.register(CrossTenantAccessDefault)
class CrossTenantAccessDefaultAdmin(_CrossTenantAdmin):
    """Default settings (one per tenant, from its creation on)."""

    form = CrossTenantDefaultForm
    list_display = ("tenant", "is_service_default", "inbound_summary", "outbound_summary", "updated_at")
    list_select_related = ("tenant",)
    actions = ["reset_to_system_default"]

    def tail_fieldsets(self, obj):
        return ((_("Redemption order"), {"fields": ("primary_order", "fallback_provider"),
                                         "classes": ("tab-redemption",)}),)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_list_filter(self, request):
        return ()

    @admin.display(description=_("inbound access"))
    def inbound_summary(self, obj):
        return summary(obj.b2b_collaboration_inbound)

    @admin.display(description=_("outbound access"))
    def outbound_summary(self, obj):
        return summary(obj.b2b_collaboration_outbound)

    def save_through_service(self, request, obj, form, change):
        services.cross_tenant_default_update(actor=self.actor(request, obj.tenant), tenant=obj.tenant,
                                             changes=form.graph_changes())

    @admin.action(description=_("Restore default settings"), permissions=["change"])
    def reset_to_system_default(self, request, queryset):
        for default in queryset.select_related("tenant"):
            services.cross_tenant_default_reset(actor=self.actor(request, default.tenant), tenant=default.tenant)
        self.message_user(request, _("The default settings were restored to Microsoft Entra's defaults."))


@admin.register(CrossTenantAccessPartner)
class CrossTenantAccessPartnerAdmin(_CrossTenantAdmin):
    """Organizational settings: one row per external organization."""

    form = CrossTenantPartnerForm
    list_display = ("organization", "inbound_summary", "outbound_summary", "tenant")
    list_select_related = ("tenant",)
    search_fields = ("=partner_tenant_id",)

    def head_fieldsets(self, obj):
        return ((_("Organization"), {"fields": ("tenant", "partner_tenant_id", "issuer")}),)

    @admin.display(description=_("organization"))
    def organization(self, obj):
        from directory.models import Tenant

        name = Tenant.objects.filter(pk=obj.partner_tenant_id).values_list("name", flat=True).first() \
            if not obj.issuer else None
        return f"{name} ({obj.partner_tenant_id})" if name else (
            f"{obj.partner_tenant_id} @ {obj.issuer}" if obj.issuer else str(obj.partner_tenant_id))

    @admin.display(description=_("inbound access"))
    def inbound_summary(self, obj):
        return summary(obj.b2b_collaboration_inbound) if obj.b2b_collaboration_inbound else _("Inherited from default")

    @admin.display(description=_("outbound access"))
    def outbound_summary(self, obj):
        return summary(obj.b2b_collaboration_outbound) if obj.b2b_collaboration_outbound else _(
            "Inherited from default")

    def save_through_service(self, request, obj, form, change):
        if change:
            services.cross_tenant_partner_update(actor=self.actor(request, obj), partner=obj,
                                                 changes=form.graph_changes())
            return
        tenant = form.cleaned_data["tenant"]
        settings = {k: v for k, v in form.graph_changes().items() if v is not None}
        created = services.cross_tenant_partner_create(
            actor=self.actor(request, tenant), tenant=tenant, partner_tenant_id=form.cleaned_data["partner_tenant_id"],
            issuer=form.cleaned_data.get("issuer") or "", settings=settings)
        obj.pk = created.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.cross_tenant_partner_delete(actor=self.actor(request, obj), partner=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def summary(setting: dict | None) -> str:
    """"Allowed: all users, all applications" and the like, for the lists."""
    if not setting:
        return ""
    users, apps = setting["usersAndGroups"], setting["applications"]

    def part(config, everyone, noun):
        who = _("all") if any(t["target"] == everyone for t in config["targets"]) else _("%(n)s selected") % {
            "n": len(config["targets"])}
        state = _("allowed") if config["accessType"] == "allowed" else _("blocked")
        return f"{noun} {who} {state}"

    return f"{part(users, ALL_USERS, _('users'))}; {part(apps, ALL_APPLICATIONS, _('apps'))}"


