"""The directory's pages: the signed-in person's organisations, My Apps and My Account in the access
panel, and the project's error pages (never Django's defaults)."""

import logging
import re
import uuid
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import requires_csrf_token

from . import access, services
from .enforcement import enforce
from .leave import is_external, leave_decision
from .models import Application, Tenant
from .panel import PanelView, Section, register_section, tenant_context
from .selectors import (
    application_to_launch,
    my_apps_page,
    organizations_for_account,
    owner_names,
    recent_sign_ins_of,
    sponsors_of,
)

logger = logging.getLogger(__name__)
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
        # "Request access" goes to the self-service request page, where an app provides it.
        request_url = _url_for_each("directory:app_access_request", self.tenant.slug)
        rows, requestable = my_apps_page(self.actor, search=search, with_requestable=request_url is not None)
        launch = _url_for_each("directory:launch", self.tenant.slug)
        logo_storage = Application._meta.get_field("logo").storage
        apps = [AppTile(
            display_name=row["display_name"], description=row["description"],
            launch_href=launch.replace("{id}", str(row["id"])),
            logo_url=logo_storage.url(row["logo"]) if row["logo"] else "",
            owner_names=", ".join(owner_names(row["owner_names_json"])),
        ) for row in rows]
        for app in requestable:
            app["request_href"] = request_url.replace("{id}", str(app["id"]))
        return self.render(apps=apps, requestable=requestable, search=search)


class LaunchView(PanelView):
    """Opens an app from My Apps. An app of the tenant that the person is not assigned to says so and
    names its owners (whom to ask); a missing or another tenant's app is a 404."""

    section = "apps"
    template_name = "directory/panel/not_assigned.html"

    def get(self, request, app_id):
        app, owners, may_open = application_to_launch(self.actor, app_id)
        if not may_open:
            return self.render(status=403, app=app, owners=owners)
        response = enforce(request, self.tenant, self.tenant_user, resource=access.APP, application=app)
        if response is not None:
            return response
        if not app.launch_url:
            return redirect("directory:panel", slug=self.tenant.slug)
        return HttpResponseRedirect(app.launch_url)


def demo_app(request, slug: str, name: str):
    """The page the demo's applications launch (``manage.py seed_demo``): served by the project, so a
    launch from the demo's access panel lands somewhere real. It shows only what its address says."""
    return render(request, "directory/demo_app.html", {"app_name": name.replace("-", " ").title(), "slug": slug})


# --- error pages (config/urls.py handler400/403/404/500) -------------------------------------------

_TENANT_PATH = re.compile(r"^/t/(?P<slug>[-a-zA-Z0-9_]+)/")


def _error_context(request) -> dict:
    """A page under ``/t/<tenant>/`` carries the tenant's branding; anywhere else the product's. An error
    page must render even when the lookup cannot: then it is the product's."""
    match = _TENANT_PATH.match(request.path)
    if match is None:
        return {}
    try:
        tenant = Tenant.objects.filter(slug=match["slug"]).prefetch_related("brandings").first()
    except DatabaseError:
        logger.warning("error page without branding: the tenant lookup failed", exc_info=True)
        return {}
    return tenant_context(request, tenant) if tenant is not None else {}


def _error_page(request, status: int, title: str, message: str, **extra):
    context = {"status": status, "title": title, "message": message, **_error_context(request), **extra}
    context["layout"] = "directory/tenant_base.html" if context.get("tenant") else "base.html"
    return render(request, "error.html", context, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    return _error_page(request, 400, _("This request could not be understood"), _(
        "Something in the address or the form was not in the shape we expected. Go back and try again."))


@requires_csrf_token
def permission_denied(request, exception=None):
    if request.path.startswith("/admin/") and request.user.is_authenticated and not request.user.is_staff:
        # A guest or member who opened the admin console: it is for administrators; their place is
        # the access panel of each organization they belong to.
        return render(request, "directory/admin_not_for_you.html", {
            "organizations": list(organizations_for_account(account=request.user))}, status=403)
    return _error_page(request, 403, _("You can't open this page"), _(
        "Your account does not have access to this page. If you think it should, ask your administrator."))


@requires_csrf_token
def page_not_found(request, exception=None):
    return _error_page(request, 404, _("Page not found"), _(
        "There is nothing at this address. It may have moved, or the link may be incomplete."))


@requires_csrf_token
def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: a form sent from a page that is too old (or from another site)."""
    return _error_page(request, 403, _("This form has expired"), _(
        "The page was open too long, or cookies are blocked. Go back, reload the page and send the form again."))


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
        return self.render(status=status, form=form, organization_rows=organizations, security_info=security_info,
                           recent_sign_ins=recent_sign_ins_of(user),
                           sponsors=sponsors_of(user) if user.is_guest else None)

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
