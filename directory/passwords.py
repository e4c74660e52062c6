"""No password path for accounts that sign in by e-mailed code or through federation.

Such accounts have no usable password, and allauth would let them give themselves one (password set,
or a reset link) and then sign in with it, bypassing the way their tenants let them in. Here the set
page refuses them, the change page (which sends them to the set page) with it, the reset form treats
their address like an unknown one (same answer, no mail), and a reset link for them is invalid. Only
an administrator gives an account a password.
"""

from allauth.account import views as allauth_views
from allauth.account.adapter import get_adapter
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.account.forms import UserTokenForm as AllauthUserTokenForm
from django.shortcuts import render

from .signin import has_password_path


class ResetPasswordForm(AllauthResetPasswordForm):
    def clean_email(self) -> str:
        email = super().clean_email()
        # ACCOUNT_PREVENT_ENUMERATION: with no user left, allauth answers as for an unknown address.
        self.users = [user for user in self.users if has_password_path(user)]
        return email


class UserTokenForm(AllauthUserTokenForm):
    def clean(self):
        cleaned_data = super().clean()
        if self.reset_user is not None and not has_password_path(self.reset_user):
            self.reset_user = None
            raise get_adapter().validation_error("invalid_password_reset")
        return cleaned_data


class PasswordSetView(allauth_views.PasswordSetView):
    """allauth's "set a password" page, which only ever serves accounts without one: refused."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not has_password_path(request.user):
            return render(request, "account/password_unavailable.html", status=403)
        return super().dispatch(request, *args, **kwargs)


password_set = PasswordSetView.as_view()
