from django import forms
from django.utils.translation import gettext_lazy as _


class EmailForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))

    def clean_email(self):
        # The address in the form its invitation stored it (invitations.validation.mail_domain): a guest
        # invited at ann@xn--fabrikm-bxa.example who types ann@fabrikäm.example is the same guest.
        from django.core.exceptions import ValidationError

        from .validation import mail_domain

        local, _at, domain = self.cleaned_data["email"].strip().rpartition("@")
        try:
            return f"{local}@{mail_domain(domain)}".lower()
        except ValidationError:
            raise ValidationError(_("Enter a valid email address."), code="invalid") from None
