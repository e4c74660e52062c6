"""A password an administrator chose is changed by its owner at the next sign-in (Graph's passwordProfile
``forceChangePasswordNextSignIn``; ``forceChangePasswordNextSignInWithMfa`` asks for MFA first).

The rule is an access evaluator (directory/access.py): while the account's flag is set, entering any tenant —
the sign-in stage, every panel page, an app launch, the console, the OIDC authorization endpoint and a refreshed
token — requires ``passwordChange`` (after ``mfa`` when asked), which only this page meets. Choosing a new
password through any of allauth's password pages clears the flag (:meth:`AccountAdapter.set_password`).
"""

from allauth.account.forms import ChangePasswordForm
from allauth.account.internal.flows.password_change import finalize_password_change
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from . import access
from .access import AccessDecision, AccessRequest
from .mfa.views import _safe_next
from .models import Account
from .panel import PanelView

REQUIREMENT = "passwordChange"


def password_change_evaluator(request: AccessRequest) -> AccessDecision:
    """``passwordChange`` (and ``mfa`` first, when asked and not met yet) while the account must change its
    password."""
    account = request.account
    if account is None or not getattr(account, "password_change_required", False):
        return AccessDecision()
    requirements = {REQUIREMENT}
    if account.password_change_requires_mfa and "mfa" not in request.satisfied:
        requirements.add("mfa")
    return AccessDecision(requirements=frozenset(requirements))


def password_chosen(account: Account) -> None:
    """The person chose their own password: nothing more to change."""
    if account.pk and (account.password_change_required or account.password_change_requires_mfa):
        Account.objects.filter(pk=account.pk).update(password_change_required=False,
                                                     password_change_requires_mfa=False)
        account.password_change_required = account.password_change_requires_mfa = False


class PasswordChangeView(PanelView):
    """The requirement handler for ``passwordChange``: the current password (the one the administrator gave),
    then a new one, twice, which must differ from it."""

    template_name = "directory/password_change.html"
    meets_requirements = True  # this page is how the requirement is met

    def _next(self) -> str:
        return _safe_next(self.request, reverse("directory:panel", args=[self.tenant.slug]))

    def _elsewhere(self, request) -> HttpResponseRedirect | None:
        """Where to go instead of this page: on, when there is nothing to change; to the MFA challenge first,
        when the change needs MFA this session has not passed (this page honours no requirement itself)."""
        account = request.user
        if not account.password_change_required:
            return HttpResponseRedirect(self._next())
        if account.password_change_requires_mfa and "mfa" not in access.satisfied(request.session, self.tenant):
            return HttpResponseRedirect(access.requirement_url("mfa", self.tenant, request.get_full_path()))
        return None

    def get(self, request):
        if (elsewhere := self._elsewhere(request)) is not None:
            return elsewhere
        return self.render(form=ChangePasswordForm(user=request.user), next=self._next())

    def post(self, request):
        if (elsewhere := self._elsewhere(request)) is not None:
            return elsewhere
        form = ChangePasswordForm(user=request.user, data=request.POST)
        if form.is_valid():
            if form.cleaned_data["password1"] == form.cleaned_data["oldpassword"]:
                form.add_error("password1", _("Choose a new password: not the one you were given."))
            else:
                form.save()  # allauth's adapter sets it, and clears the flag (password_chosen)
                finalize_password_change(request, request.user)
                return HttpResponseRedirect(self._next())
        return self.render(status=400, form=form, next=self._next())
