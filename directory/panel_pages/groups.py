"""My Groups, and a group's owners' page."""

from django.db.models.functions import Lower
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import services
from ..models import Application, SelfServiceRequest
from ..panel import PanelView, invite_url
from ..selectors import (
    access_group,
    access_managed_group,
    access_own_request,
    access_request_to_decide,
    access_user,
    my_groups,
    people_search,
    requests_to_decide,
)
from .common import run

MEMBERS_SHOWN = 200


class MyGroupsView(PanelView):
    """Groups I own, groups I belong to (leave), groups I may join (at once, or by asking the owners),
    and a new group where the tenant lets me create one."""

    section = "groups"
    template_name = "directory/panel/groups.html"

    def get(self, request):
        if not self.tenant.groups_self_service_enabled:
            raise Http404(_("Self-service group management is turned off in this organization."))
        search = request.GET.get("q", "")
        return self.render(
            search=search, may_create=services.group_create_allowed(actor=self.actor, tenant=self.tenant),
            to_decide=requests_to_decide(self.actor).count(), **my_groups(self.actor, search=search))

    def post(self, request):
        here = reverse("directory:groups", args=[self.tenant.slug])
        action = request.POST.get("action")
        if action == "create":
            name = request.POST.get("display_name", "").strip()
            policy = request.POST.get("join_policy", "owners")
            return run(request, lambda: services.group_create(
                actor=self.actor, tenant=self.tenant, display_name=name,
                description=request.POST.get("description", "").strip(),
                members_can_join=policy in ("open", "approval"), join_requires_approval=policy == "approval",
            ), success=_("Group “%(name)s” created.") % {"name": name}, redirect_to=here)
        group = access_group(self.actor, request.POST.get("group_id"))
        if action == "join":
            success = (_("Your request to join “%(g)s” was sent to its owners.") if group.join_requires_approval
                       else _("You joined “%(g)s”.")) % {"g": group}
            return run(request, lambda: services.group_join(
                actor=self.actor, group=group, justification=request.POST.get("justification", "")),
                success=success, redirect_to=here)
        if action == "leave":
            return run(request, lambda: services.group_leave(actor=self.actor, group=group),
                       success=_("You left “%(g)s”.") % {"g": group}, redirect_to=here)
        raise Http404


class GroupManageView(PanelView):
    """A group's owners' page: members and owners, add a member from the directory, invite a guest into
    the group, remove; the group's pending join requests."""

    section = "groups"
    template_name = "directory/panel/group_manage.html"

    def get(self, request, group_id):
        group = access_managed_group(self.actor, group_id)
        members = group.members.filter(deleted_at__isnull=True)
        search = request.GET.get("q", "")
        found = people_search(self.actor, search) if search else []
        return self.render(
            group=group, members=list(members.order_by(Lower("display_name"), "id")[:MEMBERS_SHOWN]),
            member_count=members.count(), owners=list(group.owners.filter(deleted_at__isnull=True)),
            search=search, found=found,
            found_in=set(members.filter(pk__in=[p.pk for p in found]).values_list("pk", flat=True)) if found else set(),
            requests=list(requests_to_decide(self.actor).filter(group=group, application=None)),
            invite_url=invite_url(self.panel), members_shown=MEMBERS_SHOWN)

    def post(self, request, group_id):
        group = access_managed_group(self.actor, group_id)
        here = reverse("directory:group_manage", args=[self.tenant.slug, group.pk])
        action = request.POST.get("action")
        if action in ("add_member", "remove_member", "add_owner", "remove_owner"):
            user = access_user(self.actor, request.POST.get("user_id"))
            service = {"add_member": services.group_member_add, "remove_member": services.group_member_remove,
                       "add_owner": services.group_owner_add, "remove_owner": services.group_owner_remove}[action]
            done = {"add_member": _("%(u)s is now a member."), "remove_member": _("%(u)s was removed."),
                    "add_owner": _("%(u)s is now an owner."), "remove_owner": _("%(u)s is no longer an owner.")}
            return run(request, lambda: service(actor=self.actor, group=group, user=user),
                       success=done[action] % {"u": user.display_name}, redirect_to=here)
        if action in ("approve", "deny"):
            return decide(self, request, redirect_to=here)
        raise Http404


def decide(view, request, *, redirect_to: str):
    """Approve or deny one of the requests the actor decides (any other id is 404)."""
    found = access_request_to_decide(view.actor, request.POST.get("request_id"))
    approve = request.POST.get("action") == "approve"
    return run(request, lambda: services.self_service_request_decide(
        actor=view.actor, request=found, approve=approve, note=request.POST.get("note", "")),
        success=(_("Approved: %(who)s → %(what)s.") if approve else _("Denied: %(who)s → %(what)s."))
        % {"who": found.requester.display_name, "what": found.target}, redirect_to=redirect_to)


class RequestsView(PanelView):
    """The self-service requests the person decides (as a group's owner or an application's approver), the
    person's own open requests, and the applications it owns (each with its owners' page)."""

    section = "groups"
    template_name = "directory/panel/requests.html"

    def get(self, request):
        owned_apps = Application.objects.filter(owners=self.tenant_user).order_by(Lower("display_name"), "id")
        return self.render(requests=list(requests_to_decide(self.actor)[:500]), owned_apps=list(owned_apps[:200]),
                           mine=list(SelfServiceRequest.objects.filter(
                               requester=self.tenant_user, status=SelfServiceRequest.Status.PENDING)
                               .select_related("group", "application").order_by("-created_at")[:50]))

    def post(self, request):
        here = reverse("directory:requests", args=[self.tenant.slug])
        if request.POST.get("action") == "cancel":
            mine = access_own_request(self.actor, request.POST.get("request_id"))
            return run(request, lambda: services.self_service_request_cancel(actor=self.actor, request=mine),
                       success=_("Request withdrawn."), redirect_to=here)
        return decide(self, request, redirect_to=here)
