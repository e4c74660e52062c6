"""The sign-in log and people's authentication methods in the admin console."""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..models import AuthenticationMethod, SignInEvent, User
from .base import ReadOnlyAdmin

CHART_DAYS = 30


def sign_ins_per_day(queryset, *, days: int = CHART_DAYS, today: datetime.date | None = None) -> list[dict]:
    """[{"day": "2026-03-01", "signIns": n, "failures": m}] for the last ``days`` days of ``queryset``
    (one grouped query; days without sign-ins count zero)."""
    today = today or timezone.localdate()
    start = today - datetime.timedelta(days=days - 1)
    since = timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))
    rows = (queryset.order_by().filter(created_at__gte=since).annotate(day=TruncDate("created_at"))
            .values("day").annotate(total=Count("id"), failures=Count("id", filter=Q(result="failure"))))
    by_day = {row["day"]: row for row in rows}
    series = []
    for offset in range(days):
        day = start + datetime.timedelta(days=offset)
        row = by_day.get(day, {})
        series.append({"day": day.isoformat(), "signIns": row.get("total", 0), "failures": row.get("failures", 0)})
    return series


@admin.register(SignInEvent)
class SignInEventAdmin(ReadOnlyAdmin):
    area = "signin"
    list_display = ("created_at", "user_principal_name", "resource", "app_display_name", "result",
                    "failure_reason", "conditional_access_status", "policy_outcomes", "ip_address", "country",
                    "methods")
    list_filter = ("result", "resource", "conditional_access_status", "client_app_used", "is_interactive")
    search_fields = ("user_principal_name",)
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False  # no COUNT(*) over the whole log on every page
    readonly_fields = ("created_at", "tenant", "home_tenant", "user", "user_principal_name", "user_display_name",
                       "application", "app_display_name", "resource", "ip_address", "country", "client_app_used",
                       "user_agent", "is_interactive", "result", "error_code", "failure_reason",
                       "authentication_methods", "authentication_requirement", "conditional_access_status",
                       "applied_policies", "correlation_id")
    fields = readonly_fields

    @admin.display(description=_("policies that applied"))
    def policy_outcomes(self, obj):
        """Each policy that had a say (report-only ones with their would-be result); not the rest."""
        shown = [f"{p.get('displayName')}: {p.get('result')}" for p in obj.applied_policies or []
                 if p.get("result") not in ("notApplied", "notEnabled", "reportOnlyNotApplied")]
        return "; ".join(shown) or "—"

    @admin.display(description=_("methods"))
    def methods(self, obj):
        return ", ".join(obj.authentication_methods) or "—"

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            response.context_data["chart"] = sign_ins_per_day(changelist.queryset)
            response.context_data["chart_days"] = CHART_DAYS
        return response


@admin.register(AuthenticationMethod)
class AuthenticationMethodAdmin(ReadOnlyAdmin):
    """A person's methods, per tenant: admins see them, remove one, or require re-registration."""

    area = "authmethod"
    list_display = ("account", "kind", "display_name", "tenant", "created_at", "last_used_at")
    list_filter = ("kind",)
    search_fields = ("account__email",)
    list_select_related = ("account", "tenant")
    actions = ["remove_methods", "require_re_registration"]
    fields = ("account", "tenant", "kind", "display_name", "created_at", "last_used_at")
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False  # removal is the audited action below, not the generic delete

    def _users(self, queryset):
        pairs = set(queryset.values_list("account_id", "tenant_id"))
        query = Q()
        for account_id, tenant_id in pairs:
            query |= Q(account_id=account_id, tenant_id=tenant_id)
        return list(User.objects.active().filter(query).select_related("tenant")) if pairs else []

    @admin.action(description=_("Remove the selected methods"))
    def remove_methods(self, request, queryset):
        users = {(u.account_id, u.tenant_id): u for u in self._users(queryset)}
        count = 0
        for method in queryset.select_related("totp_device", "static_device", "webauthn_credential"):
            user = users.get((method.account_id, method.tenant_id))
            if user is None:
                continue
            try:
                services.authentication_method_delete(actor=self.actor(request, user), user=user, method=method)
                count += 1
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, ngettext("%d method removed.", "%d methods removed.", count) % count)

    @admin.action(description=_("Require re-registration of MFA for their owners"))
    def require_re_registration(self, request, queryset):
        count = 0
        for user in self._users(queryset):
            try:
                services.authentication_methods_reset(actor=self.actor(request, user), user=user)
                count += 1
            except PermissionDenied as exc:
                self.message_user(request, str(exc), messages.ERROR)
        self.message_user(request, ngettext("%d person must register MFA again.",
                                            "%d people must register MFA again.", count) % count)

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.tenant_ids(request, manage=True):
            actions.pop("remove_methods", None)
            actions.pop("require_re_registration", None)
        return actions
