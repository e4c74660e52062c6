"""The directory's pages: the signed-in person's organisations, and My Apps in the access panel."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import access
from .enforcement import enforce
from .panel import PanelView, Section, register_section
from .selectors import access_application, applications_for_user, organizations_for_account, user_can_open_application


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
    section = "apps"

    def get(self, request, app_id):
        try:
            app = access_application(self.actor, app_id)
        except Http404:
            app = None
        if app is None or not user_can_open_application(user=self.tenant_user, application=app):
            raise Http404(_("No such application."))
        response = enforce(request, self.tenant, self.tenant_user, resource=access.APP, application=app)
        if response is not None:
            return response
        if not app.launch_url:
            return redirect("directory:panel", slug=self.tenant.slug)
        return HttpResponseRedirect(app.launch_url)


register_section(Section(key="apps", label=gettext_lazy("My apps"), url_name="directory:panel", order=10))
