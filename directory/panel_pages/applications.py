"""An application's owners' page, and asking for an application that allows self-service access."""

from django.db.models.functions import Lower
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import services
from ..models import AppRoleAssignment, SelfServiceRequest
from ..panel import PanelView, invite_url
from ..selectors import (
    access_application,
    access_managed_application,
    access_user,
    people_search,
    requests_to_decide,
    user_can_open_application,
)
from .common import run, uuid_or_none
from .groups import decide

ASSIGNED_SHOWN = 200


class AppManageView(PanelView):
    """The people assigned to my application: add a member, invite a guest into it, remove."""

    section = "apps"
    template_name = "directory/panel/app_manage.html"

    def get(self, request, app_id):
        app = access_managed_application(self.actor, app_id)
        assignments = AppRoleAssignment.objects.filter(application=app, user__isnull=False,
                                                       user__deleted_at__isnull=True)
        search = request.GET.get("q", "")
        return self.render(
            app=app, assignments=list(assignments.select_related("user").order_by(Lower("user__display_name"), "id")
                                      [:ASSIGNED_SHOWN]),
            assigned_count=assignments.count(), assigned_shown=ASSIGNED_SHOWN,
            groups=list(AppRoleAssignment.objects.filter(application=app, group__isnull=False)
                        .select_related("group").order_by("group__display_name")[:ASSIGNED_SHOWN]),
            search=search, found=people_search(self.actor, search) if search else [],
            requests=list(requests_to_decide(self.actor).filter(application=app)),
            invite_url=invite_url(self.panel))

    def post(self, request, app_id):
        app = access_managed_application(self.actor, app_id)
        here = reverse("directory:app_manage", args=[self.tenant.slug, app.pk])
        action = request.POST.get("action")
        if action == "add_member":
            user = access_user(self.actor, request.POST.get("user_id"))
            return run(request, lambda: services.app_assignment_create(actor=self.actor, application=app, user=user),
                       success=_("%(u)s can now open %(app)s.") % {"u": user.display_name, "app": app},
                       redirect_to=here)
        if action == "remove":
            assignment_id = uuid_or_none(request.POST.get("assignment_id"))
            assignment = AppRoleAssignment.objects.filter(application=app, pk=assignment_id).first() \
                if assignment_id else None
            if assignment is None:
                raise Http404
            return run(request, lambda: services.app_assignment_delete(actor=self.actor, assignment=assignment),
                       success=_("Removed."), redirect_to=here)
        if action in ("approve", "deny"):
            return decide(self, request, redirect_to=here)
        raise Http404


class AppAccessRequestView(PanelView):
    """Ask for an application that allows self-service access (Entra's "Request new apps")."""

    section = "apps"
    template_name = "directory/panel/app_request.html"

    def _app(self, app_id):
        app = access_application(self.actor, app_id)
        if not app.self_service_enabled:
            raise Http404(_("No such object."))
        return app

    def get(self, request, app_id):
        app = self._app(app_id)
        pending = SelfServiceRequest.objects.filter(requester=self.tenant_user, application=app,
                                                    status=SelfServiceRequest.Status.PENDING).first()
        return self.render(app=app, pending=pending,
                           has_access=user_can_open_application(user=self.tenant_user, application=app),
                           refusal=services.application_self_service_refusal(actor=self.actor, application=app))

    def post(self, request, app_id):
        app = self._app(app_id)
        success = (_("Your request for %(app)s was sent to its approvers.") if app.self_service_requires_approval
                   else _("You now have access to %(app)s.")) % {"app": app}
        return run(request, lambda: services.application_access_request(
            actor=self.actor, application=app, justification=request.POST.get("justification", "")),
            success=success, redirect_to=reverse("directory:app_access_request", args=[self.tenant.slug, app.pk]))
