"""API app registrations in the admin console."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import services
from ..authz import APPLICATION_PERMISSIONS, CAPABILITIES, DELEGATED_PERMISSIONS
from ..models import (
    AppRegistration,
)
from .base import TenantModelForm, TenantScopedAdmin


class AppRegistrationForm(TenantModelForm):
    """Name, granted Graph permissions and (for apps that sign users in) redirect URIs. The client
    secret is made by the service and shown once after saving."""

    LIFETIMES = [(90, _("90 days")), (180, _("180 days (recommended)")), (365, _("1 year")), (730, _("2 years"))]

    application_permissions = forms.MultipleChoiceField(
        label=_("Application permissions"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("What the app may do on its own (client credentials), in every part of this tenant."),
    )
    delegated_permissions = forms.MultipleChoiceField(
        label=_("Delegated permissions"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("What the app may do for a signed-in user; never more than that user may do."),
    )
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line; only for apps that sign users in (authorization code with PKCE)."),
    )
    secret_lifetime_days = forms.TypedChoiceField(label=_("Client secret expires after"), coerce=int,
                                                  choices=LIFETIMES, initial=180)

    class Meta:
        model = AppRegistration
        fields = ("tenant", "display_name", "enabled", "application_permissions", "delegated_permissions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, permissions in (("application_permissions", APPLICATION_PERMISSIONS),
                                  ("delegated_permissions", DELEGATED_PERMISSIONS)):
            # The name whole (never broken mid-word), then what it allows (admin_console.css).
            self.fields[name].choices = [(p, format_html('<code class="permission-name">{}</code> '
                                                         '<span class="permission-description">{}</span>',
                                                         p, CAPABILITIES[p])) for p in permissions]
            self.fields[name].widget.attrs["class"] = "permission-choices"
        if not self.instance._state.adding:  # set when registering; a new secret comes from the list's action
            del self.fields["redirect_uris"], self.fields["secret_lifetime_days"]

    def clean_redirect_uris(self) -> list[str]:
        lines = self.cleaned_data.get("redirect_uris", "").splitlines()
        try:
            return services.validate_redirect_uris(lines)  # the service's rule, shown next to the field
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None


@admin.register(AppRegistration)
class AppRegistrationAdmin(TenantScopedAdmin):
    """API clients of a tenant. The client secret is stored hashed: it is shown once, when the app is
    registered or a new secret is made, and never again."""

    area = "application"
    form = AppRegistrationForm
    list_display = ("display_name", "client_id", "enabled", "permission_summary", "secret_expiry", "tenant",
                    "created_at")
    list_filter = ("enabled",)
    search_fields = ("display_name", "client__id")
    list_select_related = ("tenant",)
    readonly_fields = ("client_id", "secret_expires_at", "created_at")
    actions = ["new_secret"]
    change_list_template = "admin/directory/appregistration/change_list.html"

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("tenant", "display_name", "application_permissions", "delegated_permissions",
                                       "redirect_uris", "secret_lifetime_days")}),)
        return (
            (None, {"fields": ("tenant", "display_name", "enabled", "client_id")}),
            (_("Permissions"), {"fields": ("application_permissions", "delegated_permissions")}),
            (_("Credentials"), {"fields": ("secret_expires_at", "created_at"),
                                "description": _("Use the action “Create a new client secret” on the list to "
                                                 "replace the secret.")}),
        )

    @admin.display(description=_("client id"), ordering="client_id")
    def client_id(self, obj):
        return obj.client_id

    @admin.display(description=_("permissions"))
    def permission_summary(self, obj):
        return ", ".join(obj.application_permissions) or "—"

    @admin.display(description=_("secret expires"), ordering="secret_expires_at")
    def secret_expiry(self, obj):
        if obj.secret_expires_at is None:
            return _("never")
        label = date_format(obj.secret_expires_at, "SHORT_DATE_FORMAT")
        if obj.secret_expired:
            return format_html('<span style="color:#a4262c">{} ({})</span>', label, _("expired"))
        return label

    def has_delete_permission(self, request, obj=None):
        return False  # switch an app off with "enabled"; its audit trail stays

    def service_create(self, request, obj, form):
        data = form.cleaned_data
        registration, client_id, secret = services.app_registration_create(
            actor=self.actor(request, data["tenant"]), tenant=data["tenant"], display_name=data["display_name"],
            application_permissions=data["application_permissions"],
            delegated_permissions=data["delegated_permissions"], redirect_uris=data["redirect_uris"],
            secret_lifetime_days=data["secret_lifetime_days"],
        )
        self._show_secret_once(request, registration, client_id, secret)
        return registration

    def service_update(self, request, obj, changes):
        services.app_registration_update(actor=self.actor(request, obj), registration=obj, changes=changes)

    def _show_secret_once(self, request, registration, client_id: str, secret: str) -> None:
        expires = (date_format(registration.secret_expires_at, "SHORT_DATE_FORMAT")
                   if registration.secret_expires_at else _("never"))
        self.message_user(request, format_html(
            "{} {} <code>{}</code> {} <code>{}</code> ({} {}). {}",
            _("“%(name)s”:") % {"name": registration.display_name}, _("client id"), client_id,
            _("client secret"), secret, _("expires"), expires,
            _("Copy the secret now: it is stored only hashed and will not be shown again."),
        ), messages.WARNING)

    @admin.action(description=_("Create a new client secret (the old one stops working)"))
    def new_secret(self, request, queryset):
        for registration in queryset.select_related("tenant", "client"):
            if not self.has_change_permission(request, registration):
                self.message_user(request, _("%(name)s: you may not manage this app.") % {
                    "name": registration.display_name}, messages.ERROR)
                continue
            secret = services.app_registration_new_secret(actor=self.actor(request, registration), registration=registration)
            registration.refresh_from_db(fields=["secret_expires_at"])
            self._show_secret_once(request, registration, registration.client_id, secret)
