"""The access panel's "Invite someone" page (a section the invitations app registers in the directory's
panel), which the group and app owners' pages also post their "invite a guest" form to.

Shown to whom :func:`services.may_invite` allows (``allowInvitesFrom`` and the Guest Inviter role: the
rule the admin console and the API apply); it grants only groups and applications the person owns."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from directory.models import Application, Group
from directory.panel import PanelView
from directory.selectors import access_application, access_group

from . import services
from .models import Invitation


class InviteView(PanelView):
    section = "invite"
    template_name = "invitations/panel/invite.html"

    def _owned(self):
        user = self.tenant_user
        return (list(Group.objects.filter(owners=user).order_by(Lower("display_name"), "id")),
                list(Application.objects.filter(owners=user).order_by(Lower("display_name"), "id")))

    def get(self, request):
        if not services.may_invite(actor=self.actor, tenant=self.tenant):
            raise Http404(_("You cannot invite guests to this organization."))
        groups, apps = self._owned()
        return self.render(groups=groups, applications=apps, chosen_group=request.GET.get("group", ""),
                           chosen_application=request.GET.get("application", ""))

    def post(self, request):
        if not services.may_invite(actor=self.actor, tenant=self.tenant):
            raise Http404(_("You cannot invite guests to this organization."))
        back = request.POST.get("next", "")
        if not (back.startswith(f"/t/{self.tenant.slug}/") and url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure())):
            back = reverse("invitations:invite", args=[self.tenant.slug])
        groups = [access_group(self.actor, pk) for pk in request.POST.getlist("group") if pk]
        apps = [access_application(self.actor, pk) for pk in request.POST.getlist("application") if pk]
        email = request.POST.get("email", "").strip()
        language = (getattr(request, "LANGUAGE_CODE", "") or "en")[:2]
        try:
            services.invitation_create_with_grants(
                actor=self.actor, tenant=self.tenant, email=email, groups=groups, applications=apps,
                display_name=request.POST.get("display_name", "").strip()[:256],
                message_body=request.POST.get("message_body", ""),
                message_language=language if language in Invitation.Language.values else "en")
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            into = ", ".join(str(o) for o in [*groups, *apps])
            messages.success(request, (_("%(email)s was invited into %(into)s.") % {"email": email, "into": into})
                             if into else _("%(email)s was invited.") % {"email": email})
        return HttpResponseRedirect(back)
