"""The What If form of the admin console: a sign-in described by an admin, answered by
``policies.selectors.what_if`` (the evaluator real sign-ins use)."""

import ipaddress

from django import forms
from django.utils.translation import gettext_lazy as _

from directory.access import APP, CONSOLE, PANEL, REGISTER_SECURITY_INFO
from directory.models import Application, Tenant, User

from ..selectors import what_if

PLATFORM_LABELS = [("android", "Android"), ("iOS", "iOS"), ("windowsPhone", "Windows Phone"),
                   ("windows", "Windows"), ("macOS", "macOS"), ("linux", "Linux")]
CLIENT_LABELS = [("browser", _("Browser")), ("mobileAppsAndDesktopClients", _("Mobile apps and desktop clients")),
                 ("other", _("Other clients"))]
REASONS = {
    "users": _("The user is not included, or is excluded."), "application": _("The target resource is not included."),
    "userActions": _("The user action does not match."), "location": _("The network or location does not match."),
    "devicePlatform": _("The device platform does not match."), "clientApps": _("The client app does not match."),
    "policyNotEnabled": _("The policy is off."),
}


class WhatIfForm(forms.Form):
    tenant = forms.ModelChoiceField(label=_("Organization"), queryset=Tenant.objects.none())
    user = forms.CharField(label=_("User (user principal name or e-mail)"))
    resource = forms.ChoiceField(label=_("Target resource"), choices=[
        (PANEL, _("Access panel (My Apps)")), (CONSOLE, _("Admin console")), (APP, _("An application")),
        (REGISTER_SECURITY_INFO, _("User action: register security information"))])
    application = forms.CharField(label=_("Application (name)"), required=False)
    ip_address = forms.GenericIPAddressField(label=_("IP address"), required=False)
    country = forms.CharField(label=_("Country (two letters)"), required=False, max_length=2)
    platform = forms.ChoiceField(label=_("Device platform"), required=False, choices=[("", "—"), *PLATFORM_LABELS])
    client_app = forms.ChoiceField(label=_("Client app"), initial="browser", choices=CLIENT_LABELS)

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants

    def clean(self):
        data = super().clean()
        tenant = data.get("tenant")
        if tenant is None:
            return data
        text = (data.get("user") or "").strip().lower()
        users = User.objects.active().filter(tenant=tenant)
        data["user_obj"] = (users.filter(user_principal_name__lower=text).first()
                            or users.filter(mail__lower=text).first())
        if data["user_obj"] is None:
            self.add_error("user", _("No such user in this organization."))
        if data.get("resource") == APP:
            data["app_obj"] = Application.objects.filter(tenant=tenant,
                                                         display_name__iexact=data.get("application", "")).first()
            if data["app_obj"] is None:
                self.add_error("application", _("No such application in this organization."))
        return data

    def answer(self, actor):
        data = self.cleaned_data
        app = data.get("app_obj")
        answers = what_if(actor=actor, user=data["user_obj"], resource=data["resource"],
                          application_id=str(app.app_id) if app else None,
                          ip=ipaddress.ip_address(data["ip_address"]) if data.get("ip_address") else None,
                          country=(data.get("country") or "").upper() or None, platform=data.get("platform") or None,
                          client_app_type=data.get("client_app"))
        applies = [(p, r) for p, r in answers if not r.result.endswith("otApplied")]
        return {"apply": applies, "not_apply": [(p, r) for p, r in answers if r.result.endswith("otApplied")]}
