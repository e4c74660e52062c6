"""The directory's pages: the signed-in person's organisations, My Apps in the access panel, and the
project's error pages (never Django's defaults)."""

import logging
import re

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import requires_csrf_token

from . import access
from .enforcement import enforce
from .models import Tenant
from .panel import PanelView, Section, register_section, tenant_context
from .selectors import application_to_launch, applications_for_user, organizations_for_account

logger = logging.getLogger(__name__)


@login_required
def home(request):
    """The signed-in person's organisations: where they are a member or a guest."""
    return render(request, "directory/home.html", {"memberships": organizations_for_account(account=request.user)})


class MyAppsView(PanelView):
    """My Apps: the applications assigned to the person, directly or through a group (one query)."""

    section = "apps"
    template_name = "directory/panel/apps.html"

    def get(self, request):
        return self.render(apps=list(applications_for_user(user=self.tenant_user)))


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


register_section(Section(key="apps", label=gettext_lazy("My apps"), url_name="directory:panel", order=10))


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
