"""The directory's pages: the signed-in person's organisations, and in the access panel My Apps and My Account."""

import uuid
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .leave import is_external, leave_decision
from .models import Application
from .panel import PanelView, Section, register_section
from .selectors import (
    access_application,
    applications_requestable_by,
    my_apps,
    organizations_for_account,
    owner_names,
    user_can_open_application,
)

_ANY_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class AppTile:
    """What one My Apps tile shows (directory/templatetags/panel_tiles.py draws it)."""

    display_name: str
    description: str
    launch_href: str
    logo_url: str
    owner_names: str

    @property
    def initial(self) -> str:
        return self.display_name[:1].upper()

    @property
    def search_name(self) -> str:
        return self.display_name.lower()


@login_required
def home(request):
    """The signed-in person's organisations: where they are a member or a guest, each a link to its panel."""
    return render(request, "directory/home.html", {"memberships": organizations_for_account(account=request.user)})


def _url_for_each(url_name: str, slug: str) -> str | None:
    """``url_name``'s URL for the tenant with ``{id}`` in place of the object id (reversed once per page,
    not once per tile), or None when no app provides that page (yet)."""
    try:
        return reverse(url_name, args=[slug, _ANY_ID]).replace(str(_ANY_ID), "{id}")
    except NoReverseMatch:
        return None


class MyAppsView(PanelView):
    """My Apps: the applications assigned to the person, directly or through a group, as tiles that open
    the app in a new tab, with their owners; the apps the person may request; a search.

    The search filters in the browser as one types (static/js/panel.js); without JavaScript the form
    submits ``?q=`` and the server filters the person's own apps."""

    section = "apps"
    template_name = "directory/panel/apps.html"

    def get(self, request):
        search = request.GET.get("q", "").strip()[:100]
        # Plain rows rather than model instances: a tile needs five columns, and the page has a speed goal.
        rows = my_apps(self.actor, search=search).values("id", "display_name", "description", "logo",
                                                          "owner_names_json")
        launch = _url_for_each("directory:launch", self.tenant.slug)
        logo_storage = Application._meta.get_field("logo").storage
        apps = [AppTile(
            display_name=row["display_name"], description=row["description"],
            launch_href=launch.replace("{id}", str(row["id"])),
            logo_url=logo_storage.url(row["logo"]) if row["logo"] else "",
            owner_names=", ".join(owner_names(row["owner_names_json"])),
        ) for row in rows]
        # "Request access" goes to the self-service request page, where an app provides it.
        request_url = _url_for_each("directory:app_access_request", self.tenant.slug)
        requestable = []
        if request_url is not None:
            requestable = list(applications_requestable_by(self.actor))
            for app in requestable:
                app.request_href = request_url.replace("{id}", str(app.pk))
        return self.render(apps=apps, requestable=requestable, search=search)


class LaunchView(PanelView):
    section = "apps"

    def get(self, request, app_id):
        try:
            app = access_application(self.actor, app_id)
        except Http404:
            app = None
        if app is None or not user_can_open_application(user=self.tenant_user, application=app):
            raise Http404(_("No such application."))
        if not app.launch_url:
            return redirect("directory:panel", slug=self.tenant.slug)
        return HttpResponseRedirect(app.launch_url)


# --- My Account ------------------------------------------------------------------------------------


class ProfileForm(forms.Form):
    """What Entra lets a person change about themselves here: the rest of the profile is the admin's."""

    display_name = forms.CharField(label=gettext_lazy("Display name"), max_length=256)
    preferred_language = forms.ChoiceField(
        label=gettext_lazy("Preferred language"), required=False,
        choices=[("", gettext_lazy("The organization's default")), *settings.LANGUAGES],
        help_text=gettext_lazy("The language of the e-mails and pages you get from this organization."))


class AccountView(PanelView):
    """My Account: the person's profile in this tenant, their organizations (switch, leave) and security info."""

    section = "account"
    template_name = "directory/panel/account.html"

    def get(self, request, form=None, status=200):
        user = self.tenant_user
        form = form or ProfileForm(initial={"display_name": user.display_name,
                                            "preferred_language": user.preferred_language})
        organizations = [(org, is_external(org)) for org in self.organizations]
        security_info = None  # registering sign-in methods comes with MFA: linked once that page exists
        for args in ([self.tenant.slug], []):
            try:
                security_info = reverse("directory:security_info", args=args)
                break
            except NoReverseMatch:
                continue
        return self.render(status=status, form=form, organization_rows=organizations, security_info=security_info)

    def post(self, request):
        form = ProfileForm(request.POST)
        if not form.is_valid():
            return self.get(request, form=form, status=400)
        try:
            services.user_profile_update(actor=self.actor, user=self.tenant_user, changes=form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.get(request, form=form, status=400)
        messages.success(request, _("Your profile in %(org)s was saved.") % {"org": self.tenant.name})
        return redirect("directory:account", slug=self.tenant.slug)


class LeaveView(PanelView):
    """Leave this organization (external users, where the tenant allows it): a confirmation, then leave."""

    section = "account"
    template_name = "directory/panel/account_leave.html"

    def get(self, request):
        return self.render(decision=leave_decision(self.tenant_user))

    def post(self, request):
        try:
            services.user_leave_organization(actor=self.actor, user=self.tenant_user)
        except ValidationError as error:
            return self.render(status=400, decision=leave_decision(self.tenant_user), error=" ".join(error.messages))
        messages.success(request, _("You left %(org)s. Its administrators were told; only they can bring you back, "
                                    "within 30 days.") % {"org": self.tenant.name})
        return redirect("home")


def register_sections() -> None:
    """The directory's own panel sections (called from ``DirectoryConfig.ready``)."""
    register_section(Section(key="apps", label=gettext_lazy("My apps"), url_name="directory:panel", order=10))
    register_section(Section(key="account", label=gettext_lazy("My account"), url_name="directory:account",
                             order=90))
