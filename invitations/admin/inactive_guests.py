"""The inactive-guests report in the admin console (Users › Inactive guests): the tenant's guests who have
not signed in for N days (or never since their invitation), with their last sign-in, sponsors, inviter,
and groups and apps counts; a page at a time, or all of them as CSV. It lives here, not in the
directory, because "invited by" is the invitations app's: the directory lets it in as a user page.

Who sees it: those who read users *and* the sign-in log in the tenant (Graph returns ``signInActivity``
only with ``AuditLog.Read.All``), and the operator."""

import datetime

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from directory.admin.base import tenants_with
from directory.admin.user_page import UserPage, register_user_page
from directory.models import Tenant

from ..bulk.results import csv_lines
from ..selectors import inactive_guests

PAGE_SIZE = 100
CSV_CHUNK = 2000
MAX_DAYS = 3650


class InactiveGuestsForm(forms.Form):
    tenant = forms.ChoiceField(label=gettext_lazy("Organization"))
    days = forms.ChoiceField(label=gettext_lazy("Inactive for at least"), initial="30", choices=[
        ("30", gettext_lazy("30 days")), ("60", gettext_lazy("60 days")), ("90", gettext_lazy("90 days")),
        ("custom", gettext_lazy("Custom…"))])
    custom_days = forms.IntegerField(label=gettext_lazy("Days (custom)"), required=False, min_value=1,
                                     max_value=MAX_DAYS)

    def __init__(self, data, *, tenants):
        super().__init__(data)
        self.fields["tenant"].choices = [(str(t.pk), t.name) for t in tenants]
        defaults = {"tenant": str(tenants[0].pk) if tenants else "", "days": "30"}
        self.data = {**defaults, **{k: v for k, v in self.data.items() if v}}  # the first visit: 30 days

    def clean(self):
        data = super().clean()
        if data.get("days") == "custom" and not data.get("custom_days"):
            self.add_error("custom_days", _("Enter the number of days, from 1 to %(max)s.") % {"max": MAX_DAYS})
        return data

    @property
    def number_of_days(self) -> int:
        days = self.cleaned_data["days"]
        return self.cleaned_data["custom_days"] if days == "custom" else int(days)


def _tenants(request) -> list[Tenant]:
    tenants = Tenant.objects.order_by("name", "pk")
    if not request.user.is_superuser:
        tenants = tenants.filter(pk__in=tenants_with(request, "user", manage=False) & tenants_with(
            request, "signin", manage=False))
    return list(tenants.only("pk", "name"))


def _inviter(guest) -> str:
    if guest.invited_at is None:
        return "—"  # made without an invitation (by an administrator, or a script)
    return guest.invited_by_name or guest.invited_by_email or _("system")  # system: entitlement management


def _row(guest, now) -> dict:
    return {
        "guest": guest, "never": guest.last_sign_in_at is None,
        "days_inactive": (now - guest.inactive_from).days,
        "sponsors": [s.display_name for s in guest.sponsors.all()], "invited_by": _inviter(guest),
    }


def inactive_guests_view(model_admin, request):
    tenants = _tenants(request)
    if not tenants:
        raise Http404  # nothing to show this viewer: the same answer as a page that does not exist
    form = InactiveGuestsForm(request.GET, tenants=tenants)
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta,
               "title": _("Inactive guests"), "form": form}
    if not form.is_valid():
        return TemplateResponse(request, "admin/invitations/inactive_guests.html", context, status=400)
    tenant = next(t for t in tenants if str(t.pk) == form.cleaned_data["tenant"])
    now = timezone.now()
    days = form.number_of_days
    cutoff = now - datetime.timedelta(days=days)
    guests = inactive_guests(tenant=tenant, cutoff=cutoff)
    if request.GET.get("format") == "csv":
        return _csv(guests, tenant, days, now)
    page = Paginator(guests, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update(tenant=tenant, days=days, cutoff=cutoff, page=page, rows=[_row(g, now) for g in page],
                   query=query.urlencode(), csv_query=f"{query.urlencode()}&format=csv")
    return TemplateResponse(request, "admin/invitations/inactive_guests.html", context)


def _csv(guests, tenant: Tenant, days: int, now) -> StreamingHttpResponse:
    header = ("displayName", "userPrincipalName", "mail", "lastSignInDateTime", "daysInactive", "createdDateTime",
              "externalUserState", "accountEnabled", "sponsors", "invitedBy", "groups", "apps")

    def lines():
        yield "\ufeff" + csv_lines([header])  # a BOM, so that spreadsheet programs read UTF-8
        chunk = []
        for guest in guests.iterator(chunk_size=CSV_CHUNK):  # the sponsors come a chunk at a time
            row = _row(guest, now)
            chunk.append((guest.display_name, guest.user_principal_name, guest.mail,
                          guest.last_sign_in_at.isoformat() if guest.last_sign_in_at else "never",
                          row["days_inactive"], guest.created_at.isoformat(), guest.external_user_state,
                          guest.account_enabled, "; ".join(row["sponsors"]), row["invited_by"], guest.group_count,
                          guest.app_count))
            if len(chunk) >= CSV_CHUNK:
                yield csv_lines(chunk)
                chunk = []
        if chunk:
            yield csv_lines(chunk)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="inactive-guests-{tenant.pk}-{days}d-{now:%Y%m%d}.csv"'
    return response


register_user_page(UserPage("inactive-guests/", "directory_user_inactive_guests", gettext_lazy("Inactive guests"),
                            inactive_guests_view))
