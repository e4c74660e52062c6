"""Forms of the admin console's invitation pages. They parse input; the services decide."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from directory.models import Application, Group, User

from . import bulk
from .models import Invitation
from .services import default_redirect_url


def add_service_errors(form: forms.Form, exc: ValidationError, *, fields: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError on the form: its fields' messages on those fields, the rest on top."""
    fields = fields or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for name, errors in exc.error_dict.items():
        target = fields.get(name, name)
        messages = [message for error in errors for message in error.messages]
        form.add_error(target if target in form.fields else None, messages)


class InviteForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=None, label=_("Organization"), empty_label=None)
    email = forms.CharField(label=_("E-mail address"), max_length=320,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "size": 40}))
    display_name = forms.CharField(label=_("Display name"), max_length=256, required=False,
                                   widget=forms.TextInput(attrs={"size": 40}))
    redirect_url = forms.CharField(
        label=_("Redirect URL"), required=False, max_length=2000, widget=forms.TextInput(attrs={"size": 60}),
        help_text=_("Where the guest goes after redeeming. Empty: the organization's access panel."))
    user_type = forms.ChoiceField(label=_("User type"), choices=User.UserType.choices, initial=User.UserType.GUEST,
                                  help_text=_("Only administrators may invite external members."))
    send_message = forms.BooleanField(label=_("Send invitation message"), required=False, initial=True,
                                      help_text=_("Without a message, share the redemption link yourself."))
    message_body = forms.CharField(label=_("Personal message"), required=False, strip=False,
                                   widget=forms.Textarea(attrs={"rows": 4, "cols": 60}))
    message_language = forms.ChoiceField(label=_("Message language"), choices=Invitation.Language.choices,
                                         initial=Invitation.Language.EN)
    cc_recipients = forms.CharField(label=_("Cc recipient"), required=False, max_length=320,
                                    help_text=_("Optional: one address that gets a copy of the invitation."))
    groups = forms.ModelMultipleChoiceField(queryset=None, required=False, label=_("Add to groups"))
    applications = forms.ModelMultipleChoiceField(queryset=None, required=False, label=_("Assign applications"))

    def __init__(self, *args, tenants, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants
        tenant_ids = tenants.values("pk")
        for name, model in (("groups", Group), ("applications", Application)):
            # The widget first: setting the queryset hands its choices to the widget.
            self.fields[name].widget = AutocompleteSelectMultiple(Invitation._meta.get_field(name), admin_site)
            self.fields[name].queryset = model.objects.filter(tenant__in=tenant_ids)
        if len(tenants) == 1:
            self.fields["tenant"].initial = tenants[0]
            self.fields["redirect_url"].initial = default_redirect_url(tenants[0])


class ResetRedemptionForm(forms.Form):
    email = forms.CharField(label=_("Address to redeem with"), max_length=320,
                            widget=forms.TextInput(attrs={"size": 40}))
    redirect_url = forms.CharField(label=_("Redirect URL"), max_length=2000, widget=forms.TextInput(attrs={"size": 60}))
    send_message = forms.BooleanField(label=_("Send a new invitation message"), required=False, initial=True)
    message_language = forms.ChoiceField(label=_("Message language"), choices=Invitation.Language.choices)


class BulkInviteForm(forms.Form):
    tenant = forms.ModelChoiceField(queryset=None, label=_("Organization"), empty_label=None)
    csv_file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, at most 20 MB. Columns: email (required), display name, redirect URL, send message "
                    "(true/false), custom message, language; no others. Entra's bulk invite template works as is."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, tenants, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants
        if len(tenants) == 1:
            self.fields["tenant"].initial = tenants[0]

    def clean_csv_file(self):
        upload = self.cleaned_data["csv_file"]
        if upload.size > bulk.MAX_UPLOAD_BYTES:  # refused before reading it
            raise ValidationError(_("The file is %(size)s MB; upload at most %(max)s MB.") % {
                "size": f"{upload.size / 1024 / 1024:.1f}", "max": bulk.MAX_UPLOAD_BYTES // 1024 // 1024})
        source = bulk.decode_upload(upload.read())
        parsed = bulk.parse_source(source)
        self.cleaned_data["source"] = source
        self.cleaned_data["row_count"] = len(parsed.rows)
        return upload
