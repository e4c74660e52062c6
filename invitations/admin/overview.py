"""The invitations app's parts of the console's home page (directory.admin.overview: invitations with a
30-day chart, bulk jobs running) and of a user's page (directory.admin.user_page: the invitation history,
with resend and reset redemption). Registered when the admin imports this package, as ``admin.register``."""

import datetime

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from directory.admin.base import tenants_with
from directory.admin.overview import OverviewCard, register_overview_card
from directory.admin.user_page import UserSection, register_user_section

from ..models import BulkInvitationJob, Invitation

# --- the overview on the console's home page (directory.admin.overview) ---------------------------

OVERVIEW_DAYS = 30
EXPIRING_WITHIN = datetime.timedelta(days=7)


def _invitation_overview(ids) -> dict:
    """Pending, expiring within a week and accepted in the last 30 days, and a chart of the 30 days'
    invitations and acceptances per day: three queries for all tenants."""
    now = timezone.now()
    since = now - datetime.timedelta(days=OVERVIEW_DAYS)
    pending = Q(status=Invitation.Status.PENDING_ACCEPTANCE) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    counts = {row["tenant_id"]: row for row in Invitation.objects.filter(tenant__in=ids).values("tenant_id").annotate(
        pending=Count("pk", filter=pending),
        expiring=Count("pk", filter=pending & Q(expires_at__lte=now + EXPIRING_WITHIN)),
        accepted=Count("pk", filter=Q(redeemed_at__gte=since)),
    )}
    days = [(since + datetime.timedelta(days=n + 1)).date() for n in range(OVERVIEW_DAYS)]
    invited = {(r["tenant_id"], r["day"]): r["n"] for r in Invitation.objects.filter(
        tenant__in=ids, created_at__gte=since).annotate(day=TruncDate("created_at")).values(
        "tenant_id", "day").annotate(n=Count("pk"))}
    accepted = {(r["tenant_id"], r["day"]): r["n"] for r in Invitation.objects.filter(
        tenant__in=ids, redeemed_at__gte=since).annotate(day=TruncDate("redeemed_at")).values(
        "tenant_id", "day").annotate(n=Count("pk"))}
    result = {}
    for pk in ids:
        row = counts.get(pk, {"pending": 0, "expiring": 0, "accepted": 0})
        sent = [invited.get((pk, day), 0) for day in days]
        took = [accepted.get((pk, day), 0) for day in days]
        labels = [date_format(day, "M j") for day in days]
        result[pk] = {
            "pending": row["pending"], "expiring": row["expiring"], "accepted": row["accepted"],
            "chart": {
                "key": "invitations", "data_id": f"chart-invitations-{pk}",
                "title": _("Invitations in the last %(days)d days") % {"days": OVERVIEW_DAYS},
                "summary": _("%(sent)d invitations sent and %(took)d accepted in the last %(days)d days.")
                % {"sent": sum(sent), "took": sum(took), "days": OVERVIEW_DAYS},
                "data": {"labels": labels, "series": [{"label": str(_("Invited")), "values": sent},
                                                      {"label": str(_("Accepted")), "values": took}]},
                "rows": [(label, a, b) for label, a, b in zip(labels, sent, took, strict=True) if a or b],
            },
        }
    return result


def _bulk_overview(ids) -> dict:
    running = {row["tenant_id"]: row["n"] for row in BulkInvitationJob.objects.filter(
        tenant__in=ids, state__in=[BulkInvitationJob.State.QUEUED, BulkInvitationJob.State.RUNNING]).values(
        "tenant_id").annotate(n=Count("pk"))}
    return {pk: {"running": running.get(pk, 0)} for pk in ids}


# Registered with the admin (as admin.register is): the overview is part of the console, whose modules
# Django's admin autodiscovery imports.
register_overview_card(OverviewCard("invitations", gettext_lazy("Invitations"), "invitation",
                                    "admin/overview/invitations.html", _invitation_overview, order=20))
register_overview_card(OverviewCard("bulk", gettext_lazy("Bulk invitations running"), "invitation",
                                    "admin/overview/bulk.html", _bulk_overview, order=30))


# --- a user's page in the console (directory.admin.user_page): their invitations ----------------------


def _user_invitations(request, user) -> dict:
    may_manage = request.user.is_superuser or user.tenant_id in tenants_with(request, "invitation", manage=True)
    invitations = list(Invitation.objects.filter(invited_user=user).select_related("invited_by", "invited_by_account")
                       .order_by("-created_at")[:50])
    return {"invitations": invitations, "may_manage": may_manage,
            "latest": invitations[0] if invitations else None, "changelist": reverse(
                "admin:invitations_invitation_changelist")}


register_user_section(UserSection("invitations", gettext_lazy("Invitations"), "invitation",
                                  "admin/invitations/invitation/user_section.html", _user_invitations, order=5))
