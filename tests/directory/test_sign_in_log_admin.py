"""The sign-in log and authentication methods in the admin console: scoped to the viewer's tenants,
a per-day chart of sign-ins and failures (with a table), fixed queries; admins remove methods and
require re-registration through the audited services."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from directory.actors import Actor
from directory.admin.signins import sign_ins_per_day
from directory.models import AuditEvent, AuthenticationMethod, Role, SignInEvent
from directory.services import backup_codes_create
from tests.factories import AccountFactory, GuestFactory, TenantFactory, admin_of

pytestmark = pytest.mark.django_db

LIST = reverse("admin:directory_signinevent_changelist")
METHODS = reverse("admin:directory_authenticationmethod_changelist")


def _events(tenant, upn, n, *, failed=0, days_ago=0):
    when = timezone.now() - datetime.timedelta(days=days_ago)
    SignInEvent.objects.bulk_create(
        [SignInEvent(tenant=tenant, user_principal_name=upn, created_at=when,
                     result="failure" if i < failed else "success") for i in range(n)])


def test_a_global_admin_sees_the_tenants_sign_ins_with_a_chart_and_nothing_of_others(client,
                                                                                       django_assert_max_num_queries):
    home, other = TenantFactory(), TenantFactory()
    _events(home, "ann@home.example", 3, failed=1)
    _events(home, "ann@home.example", 2, days_ago=2)
    _events(other, "eve@other.example", 4)
    client.force_login(admin_of(home).account)
    response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert "ann@home.example" in page and "eve@other.example" not in page
    chart = response.context["chart"]
    assert len(chart) == 30 and chart[-1]["signIns"] == 3 and chart[-1]["failures"] == 1
    assert chart[-3]["signIns"] == 2
    assert 'id="sign-in-chart-data"' in page and "vendor/chart.js/chart.umd.js" in page and "<table>" in page
    _events(home, "bob@home.example", 200, failed=50, days_ago=5)
    with django_assert_max_num_queries(14):
        assert client.get(LIST, {"result__exact": "failure"}).status_code == 200


@pytest.mark.parametrize("role", [Role.USER_ADMINISTRATOR, Role.GROUPS_ADMINISTRATOR])
def test_roles_that_do_not_read_the_audit_log_do_not_see_sign_ins(client, role):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant, role).account)
    assert client.get(LIST).status_code == 403


def test_the_chart_counts_per_day_with_empty_days():
    tenant = TenantFactory()
    _events(tenant, "x@y.example", 2, failed=2, days_ago=1)
    series = sign_ins_per_day(SignInEvent.objects.filter(tenant=tenant), days=3)
    assert [(r["signIns"], r["failures"]) for r in series] == [(0, 0), (2, 2), (0, 0)]


def test_an_admin_requires_re_registration_from_the_console(client):
    home, other = TenantFactory(), TenantFactory()
    guest = GuestFactory(tenant=home, external_user_state="Accepted", account=AccountFactory())
    backup_codes_create(actor=Actor.for_user(guest), user=guest)
    elsewhere = GuestFactory(tenant=other, external_user_state="Accepted", account=AccountFactory())
    backup_codes_create(actor=Actor.for_user(elsewhere), user=elsewhere)
    client.force_login(admin_of(home).account)
    page = client.get(METHODS).content.decode()
    assert guest.account.email in page and elsewhere.account.email not in page
    method = AuthenticationMethod.objects.get(account=guest.account)
    response = client.post(METHODS, {"action": "require_re_registration", "_selected_action": [str(method.pk)]})
    assert response.status_code == 302
    assert not AuthenticationMethod.objects.filter(account=guest.account).exists()
    assert AuthenticationMethod.objects.filter(account=elsewhere.account).exists()
    assert AuditEvent.objects.filter(tenant=home,
                                     activity_display_name="Admin required re-registration of security info").exists()
