"""Conditional access in the admin console, laid out like Entra's: a policy's assignments (users, target
resources, network, conditions), its access controls (grant, session) and "Enable policy"; named
locations; and the What If tool. The forms build Graph's shape and the services check and save it, so
the console and the API share every rule (lock-out protection included: the console asks for an explicit
confirmation and suggests the exclusion)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from directory.admin.base import TenantModelForm, TenantScopedAdmin
from directory.models import Application, Group, Role, Tenant, User

from .. import services
from ..conditional_access import (
    ADMIN_PORTALS,
    AUTHENTICATION_STRENGTHS,
    GUEST_TYPES,
    PolicyInvalid,
    normalize_conditions,
    normalize_grant_controls,
    normalize_session_controls,
)
from ..conditional_access import (
    REGISTER_SECURITY_INFO as REGISTER_ACTION,
)
from ..models import Agreement, ConditionalAccessPolicy, NamedLocation
from ..selectors import may_read_conditional_access
from ..services.conditional_access import check_references, lockout_risk
from .what_if import CLIENT_LABELS, PLATFORM_LABELS, REASONS, WhatIfForm

GUEST_TYPE_LABELS = {
    "internalGuest": _("Local guest users"), "b2bCollaborationGuest": _("B2B collaboration guest users"),
    "b2bCollaborationMember": _("B2B collaboration member users"),
    "b2bDirectConnectUser": _("B2B direct connect users"), "otherExternalUser": _("Other external users"),
    "serviceProvider": _("Service provider users"),
}
CONSOLE_CHOICE = "console"


def _multi(label, choices=(), help_text=""):
    return forms.MultipleChoiceField(label=label, choices=choices, required=False, help_text=help_text,
                                     widget=forms.CheckboxSelectMultiple)


class PolicyForm(TenantModelForm):
    # Users
    include_users_mode = forms.ChoiceField(label=_("Include"), widget=forms.RadioSelect, initial="select", choices=[
        ("none", _("None")), ("all", _("All users")), ("select", _("Select users and groups"))])
    include_guest_types = _multi(_("Guest or external users"), GUEST_TYPE_LABELS.items())
    include_roles = _multi(_("Directory roles"), Role.choices)
    include_users = forms.ModelMultipleChoiceField(label=_("Users"), queryset=User.objects.none(), required=False)
    include_groups = forms.ModelMultipleChoiceField(label=_("Groups"), queryset=Group.objects.none(), required=False)
    exclude_guest_types = _multi(_("Exclude guest or external users"), GUEST_TYPE_LABELS.items())
    exclude_roles = _multi(_("Exclude directory roles"), Role.choices)
    exclude_users = forms.ModelMultipleChoiceField(label=_("Exclude users"), queryset=User.objects.none(),
                                                   required=False,
                                                   help_text=_("Exclude yourself or an emergency-access account."))
    exclude_groups = forms.ModelMultipleChoiceField(label=_("Exclude groups"), queryset=Group.objects.none(),
                                                    required=False)
    # Target resources
    target = forms.ChoiceField(label=_("Target resources"), widget=forms.RadioSelect, initial="all", choices=[
        ("all", _("All resources (all apps, the access panel and the admin console)")),
        ("select", _("Select resources")), ("action", _("User action: register security information"))])
    include_apps = forms.MultipleChoiceField(label=_("Include resources"), required=False)
    exclude_apps = forms.MultipleChoiceField(label=_("Exclude resources"), required=False)
    # Network
    network = forms.ChoiceField(label=_("Network"), widget=forms.RadioSelect, initial="any", choices=[
        ("any", _("Any network or location")), ("all_trusted", _("All trusted networks and locations")),
        ("selected", _("Selected networks and locations"))])
    include_locations = forms.ModelMultipleChoiceField(label=_("Selected locations"),
                                                       queryset=NamedLocation.objects.none(), required=False)
    exclude_trusted = forms.BooleanField(label=_("Exclude all trusted networks and locations"), required=False)
    exclude_locations = forms.ModelMultipleChoiceField(label=_("Exclude locations"),
                                                       queryset=NamedLocation.objects.none(), required=False)
    # Conditions
    platforms = _multi(_("Device platforms"), PLATFORM_LABELS, _("None ticked: any device."))
    exclude_platforms = _multi(_("Exclude device platforms"), PLATFORM_LABELS)
    client_apps = _multi(_("Client apps"), CLIENT_LABELS, _("None ticked: all client apps."))
    # Grant
    grant = forms.ChoiceField(label=_("Grant"), widget=forms.RadioSelect, initial="grant", choices=[
        ("block", _("Block access")), ("grant", _("Grant access"))])
    require_mfa = forms.BooleanField(label=_("Require multifactor authentication"), required=False)
    authentication_strength = forms.ChoiceField(label=_("Require authentication strength"), required=False,
                                                choices=[("", "—"), *((k, v[1]) for k, v in
                                                                      AUTHENTICATION_STRENGTHS.items())])
    terms_of_use = forms.ModelMultipleChoiceField(label=_("Terms of use"), queryset=Agreement.objects.none(),
                                                  required=False)
    operator = forms.ChoiceField(label=_("For multiple controls"), widget=forms.RadioSelect, initial="AND",
                                 choices=[("AND", _("Require all the selected controls")),
                                          ("OR", _("Require one of the selected controls"))])
    # Session
    frequency = forms.IntegerField(label=_("Sign-in frequency"), required=False, min_value=1,
                                   help_text=_("Empty: no sign-in frequency."))
    frequency_unit = forms.ChoiceField(label=_("Unit"), required=False, initial="hours", choices=[
        ("hours", _("Hours")), ("days", _("Days")), ("everyTime", _("Every time"))])
    acknowledge_lockout = forms.BooleanField(
        label=_("I understand that this policy may lock me or every administrator out of the admin console"),
        required=False)

    class Meta:
        model = ConditionalAccessPolicy
        fields = ("tenant", "display_name", "state")
        widgets = {"state": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.graph = None
        if "tenant" in self.fields:
            self.fields["tenant"].required = True
        tenant_ids = self._tenant_ids
        self.fields["include_users"].queryset = self.fields["exclude_users"].queryset = \
            User.objects.active().filter(tenant_id__in=tenant_ids).order_by("display_name")
        self.fields["include_groups"].queryset = self.fields["exclude_groups"].queryset = \
            Group.objects.filter(tenant_id__in=tenant_ids).order_by("display_name")
        self.fields["include_locations"].queryset = self.fields["exclude_locations"].queryset = \
            NamedLocation.objects.filter(tenant_id__in=tenant_ids).order_by("display_name")
        self.fields["terms_of_use"].queryset = Agreement.objects.filter(tenant_id__in=tenant_ids)
        apps = [(CONSOLE_CHOICE, _("Admin console (Microsoft Admin Portals)"))] + [
            (str(a.app_id), a.display_name) for a in Application.objects.filter(tenant_id__in=tenant_ids)
            .order_by("display_name")]
        self.fields["include_apps"].choices = self.fields["exclude_apps"].choices = apps
        if not self.instance._state.adding and not self.is_bound:
            self.initial.update(self._initial_from(self.instance))

    _tenant_ids: list = []

    @staticmethod
    def _initial_from(policy) -> dict:
        c = policy.conditions
        users, apps = c["users"], c["applications"]
        locations, platforms = c.get("locations") or {}, c.get("platforms") or {}
        grant = policy.grant_controls or {}
        frequency = (policy.session_controls or {}).get("signInFrequency") or {}

        def unapp(ids):
            return [CONSOLE_CHOICE if a in (ADMIN_PORTALS,) else a for a in ids]

        def types(value):
            return [t for t in (value or {}).get("guestOrExternalUserTypes", "").split(",") if t in GUEST_TYPES]

        include_users = users["includeUsers"]
        include_locations = locations.get("includeLocations") or []
        return {
            "include_users_mode": "all" if "All" in include_users else "none" if "None" in include_users else "select",
            "include_users": [u for u in include_users if u not in ("All", "None", "GuestsOrExternalUsers")],
            "include_groups": users["includeGroups"], "include_roles": users["includeRoles"],
            "include_guest_types": types(users.get("includeGuestsOrExternalUsers")),
            "exclude_users": [u for u in users["excludeUsers"] if u != "GuestsOrExternalUsers"],
            "exclude_groups": users["excludeGroups"], "exclude_roles": users["excludeRoles"],
            "exclude_guest_types": types(users.get("excludeGuestsOrExternalUsers")),
            "target": "action" if apps["includeUserActions"] else "all" if "All" in apps["includeApplications"]
            else "select",
            "include_apps": unapp(apps["includeApplications"]), "exclude_apps": unapp(apps["excludeApplications"]),
            "network": "any" if not include_locations or "All" in include_locations else
            "all_trusted" if include_locations == ["AllTrusted"] else "selected",
            "include_locations": [x for x in include_locations if x not in ("All", "AllTrusted")],
            "exclude_trusted": "AllTrusted" in (locations.get("excludeLocations") or []),
            "exclude_locations": [x for x in locations.get("excludeLocations") or [] if x != "AllTrusted"],
            "platforms": [p for p in platforms.get("includePlatforms") or [] if p != "all"],
            "exclude_platforms": platforms.get("excludePlatforms") or [],
            "client_apps": [x for x in c.get("clientAppTypes") or [] if x != "all"],
            "grant": "block" if "block" in (grant.get("builtInControls") or []) else "grant",
            "require_mfa": "mfa" in (grant.get("builtInControls") or []),
            "authentication_strength": (grant.get("authenticationStrength") or {}).get("id", ""),
            "terms_of_use": grant.get("termsOfUse") or [], "operator": grant.get("operator") or "AND",
            "frequency": frequency.get("value"),
            "frequency_unit": "everyTime" if frequency.get("frequencyInterval") == "everyTime"
            else frequency.get("type") or "hours",
        }

    def graph_shape(self, data) -> dict:
        """The policy as Graph's conditionalAccessPolicy, from the form's answers."""
        def ids(objects):
            return [str(o.pk) for o in objects]

        def guests(types):
            return ({"guestOrExternalUserTypes": ",".join(types), "externalTenants": {"membershipKind": "all"}}
                    if types else None)

        def apps(values):
            return [ADMIN_PORTALS if v == CONSOLE_CHOICE else v for v in values]

        mode = data.get("include_users_mode")
        users = {"includeUsers": ["All"] if mode == "all" else ["None"] if mode == "none" else
                 ids(data.get("include_users") or []),
                 "includeGroups": [] if mode != "select" else ids(data.get("include_groups") or []),
                 "includeRoles": [] if mode != "select" else list(data.get("include_roles") or []),
                 "includeGuestsOrExternalUsers": None if mode != "select" else guests(data.get("include_guest_types")),
                 "excludeUsers": ids(data.get("exclude_users") or []),
                 "excludeGroups": ids(data.get("exclude_groups") or []),
                 "excludeRoles": list(data.get("exclude_roles") or []),
                 "excludeGuestsOrExternalUsers": guests(data.get("exclude_guest_types"))}
        target = data.get("target")
        applications = ({"includeUserActions": [REGISTER_ACTION]} if target == "action" else
                        {"includeApplications": ["All"] if target == "all" else apps(data.get("include_apps") or []),
                         "excludeApplications": apps(data.get("exclude_apps") or [])})
        conditions = {"users": users, "applications": applications}
        network = data.get("network")
        exclude = (["AllTrusted"] if data.get("exclude_trusted") else []) + ids(data.get("exclude_locations") or [])
        if network == "all_trusted":
            conditions["locations"] = {"includeLocations": ["AllTrusted"], "excludeLocations": exclude}
        elif network == "selected":
            conditions["locations"] = {"includeLocations": ids(data.get("include_locations") or []),
                                       "excludeLocations": exclude}
        elif exclude:
            conditions["locations"] = {"includeLocations": ["All"], "excludeLocations": exclude}
        if data.get("platforms") or data.get("exclude_platforms"):
            conditions["platforms"] = {"includePlatforms": list(data.get("platforms") or []) or ["all"],
                                       "excludePlatforms": list(data.get("exclude_platforms") or [])}
        conditions["clientAppTypes"] = list(data.get("client_apps") or []) or ["all"]
        if data.get("grant") == "block":
            grant = {"builtInControls": ["block"], "operator": "OR"}
        else:
            grant = {"builtInControls": ["mfa"] if data.get("require_mfa") else [], "operator": data.get("operator"),
                     "termsOfUse": ids(data.get("terms_of_use") or [])}
            if data.get("authentication_strength"):
                grant["authenticationStrength"] = {"id": data["authentication_strength"]}
            if not (grant["builtInControls"] or grant["termsOfUse"] or data.get("authentication_strength")):
                grant = None
        session = None
        if data.get("frequency_unit") == "everyTime":
            session = {"signInFrequency": {"frequencyInterval": "everyTime"}}
        elif data.get("frequency"):
            session = {"signInFrequency": {"value": data["frequency"], "type": data.get("frequency_unit") or "hours"}}
        return {"displayName": data.get("display_name"), "state": data.get("state"), "conditions": conditions,
                "grantControls": grant, "sessionControls": session}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        graph = self.graph_shape(data)
        tenant = data.get("tenant") or self.instance.tenant
        try:
            conditions, refs = normalize_conditions(graph["conditions"])
            grant, terms = normalize_grant_controls(graph["grantControls"])
            session = normalize_session_controls(graph["sessionControls"])
            if grant is None and session is None:
                raise ValidationError(_("Choose a grant control or a session control."))
            check_references(tenant, refs, terms)  # every choice from this policy's organization
        except PolicyInvalid as exc:
            raise ValidationError(exc.messages[0]) from None
        self.graph = graph
        if not data.get("acknowledge_lockout") and self.actor is not None:
            risk = lockout_risk(tenant=tenant, actor=self.actor(tenant), policy_id=self.instance.pk, fields={
                "display_name": graph["displayName"], "state": graph["state"], "conditions": conditions,
                "grant_controls": grant, "session_controls": session})
            if risk is not None:
                suggestion = ""
                if risk.exclude_user_id:
                    suggestion = " " + str(_("Suggested exclusion: %(who)s.") % {"who": User.objects.filter(
                        pk=risk.exclude_user_id).values_list("display_name", flat=True).first()})
                self.add_error("acknowledge_lockout", risk.messages[0] + suggestion)
        return data

    actor = None


@admin.register(ConditionalAccessPolicy)
class ConditionalAccessPolicyAdmin(TenantScopedAdmin):
    area = "conditional_access"
    form = PolicyForm
    list_display = ("display_name", "state_badge", "assignments", "controls", "modified_at", "tenant")
    list_filter = ("state",)
    search_fields = ("display_name",)
    list_select_related = ("tenant",)
    list_per_page = 200
    change_list_template = "admin/policies/conditionalaccesspolicy/change_list.html"
    fieldsets = (
        (None, {"fields": ("tenant", "display_name")}),
        (_("Users"), {"fields": ("include_users_mode", "include_users", "include_groups", "include_roles",
                                 "include_guest_types", "exclude_users", "exclude_groups", "exclude_roles",
                                 "exclude_guest_types")}),
        (_("Target resources"), {"fields": ("target", "include_apps", "exclude_apps")}),
        (_("Network"), {"fields": ("network", "include_locations", "exclude_trusted", "exclude_locations")}),
        (_("Conditions"), {"fields": ("platforms", "exclude_platforms", "client_apps")}),
        (_("Grant"), {"fields": ("grant", "require_mfa", "authentication_strength", "terms_of_use", "operator")}),
        (_("Session"), {"fields": ("frequency", "frequency_unit")}),
        (_("Enable policy"), {"fields": ("state", "acknowledge_lockout")}),
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        admin_self = self

        class Bound(form):
            _tenant_ids = list(admin_self.tenant_ids(request, manage=True))

            def actor(self, tenant):
                return admin_self.actor(request, tenant)

        return Bound

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, obj):
        colours = {"enabled": "#107c10", "enabledForReportingButNotEnforced": "#8a6d00", "disabled": "#616161"}
        return format_html('<span style="color:{}">●</span> {}', colours.get(obj.state, "#616161"),
                           obj.get_state_display())

    @admin.display(description=_("assignments"))
    def assignments(self, obj):
        users = obj.conditions.get("users") or {}
        apps = obj.conditions.get("applications") or {}
        who = ("All users" if "All" in users.get("includeUsers", []) else
               "Guests" if users.get("includeGuestsOrExternalUsers") else
               f"{len(users.get('includeUsers', []))} users, {len(users.get('includeGroups', []))} groups, "
               f"{len(users.get('includeRoles', []))} roles")
        what = ("Register security info" if apps.get("includeUserActions") else
                "All resources" if "All" in apps.get("includeApplications", []) else
                f"{len(apps.get('includeApplications', []))} resources")
        return f"{who} → {what}"

    @admin.display(description=_("access controls"))
    def controls(self, obj):
        grant = obj.grant_controls or {}
        parts = [{"block": "Block", "mfa": "Require MFA"}[c] for c in grant.get("builtInControls") or []]
        if grant.get("authenticationStrength"):
            parts.append(grant["authenticationStrength"]["displayName"])
        if grant.get("termsOfUse"):
            parts.append(f"{len(grant['termsOfUse'])} terms of use")
        if obj.session_controls:
            parts.append("Sign-in frequency")
        return (" AND " if grant.get("operator") == "AND" else " OR ").join(parts)

    def save_model(self, request, obj, form, change):
        acknowledged = bool(form.cleaned_data.get("acknowledge_lockout"))
        try:
            if change:
                changes = {k: v for k, v in form.graph.items()}
                services.conditional_access_policy_update(actor=self.actor(request, obj), policy=obj, changes=changes,
                                                          acknowledge_lockout=acknowledged)
            else:
                tenant = form.cleaned_data["tenant"]
                created = services.conditional_access_policy_create(actor=self.actor(request, tenant), tenant=tenant,
                                                                    data=form.graph, acknowledge_lockout=acknowledged)
                obj.pk = created.pk
                obj._state.adding = False
        except PolicyInvalid as exc:  # a race the form could not see; nothing was written
            messages.error(request, exc.messages[0])
            raise

    def service_delete(self, request, obj):
        services.conditional_access_policy_delete(actor=self.actor(request, obj), policy=obj)

    def get_urls(self):
        return [path("what-if/", self.admin_site.admin_view(self.what_if_view),
                     name="policies_conditionalaccesspolicy_what_if"), *super().get_urls()]

    def what_if_view(self, request):
        """Entra's What If: which policies would apply to a sign-in, and why the others would not."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        tenants = Tenant.objects.filter(pk__in=self.tenant_ids(request)).order_by("name")
        form = WhatIfForm(request.GET or None, tenants=tenants)
        results = None
        if form.is_valid():
            tenant = form.cleaned_data["tenant"]
            actor = self.actor(request, tenant)
            if not may_read_conditional_access(actor):
                form.add_error("tenant", _("You may not read the conditional access policies of this organization."))
            else:
                results = form.answer(actor)
        return TemplateResponse(request, "admin/policies/conditionalaccesspolicy/what_if.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": _("What If"),
            "form": form, "results": results, "reasons": REASONS})
