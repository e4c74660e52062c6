"""The inactive-guests report (admin console › Users › Inactive guests): who, filtered by days inactive,
with sponsor, inviter, groups and apps, in a fixed number of queries, and as CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from directory.actors import Actor
from directory.models import Role, User
from invitations.services import invitation_create
from tests.factories import (
    ApplicationFactory,
    AssignmentFactory,
    GroupFactory,
    GuestFactory,
    TenantFactory,
    UserFactory,
    admin_of,
)

pytestmark = pytest.mark.django_db
URL = "admin:directory_user_inactive_guests"


@pytest.fixture
def home():
    return TenantFactory(name="Home Co", initial_domain="home.example")


@pytest.fixture
def admin(home):
    return admin_of(home)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin.account)
    return client


def _invited(home, admin, email, *, days_ago=None, created_days_ago=100):
    guest = invitation_create(actor=Actor.for_user(admin), tenant=home, email=email,
                              redirect_url="https://home.example/").invitation.invited_user
    now = timezone.now()
    User.objects.filter(pk=guest.pk).update(
        created_at=now - timedelta(days=created_days_ago),
        last_sign_in_at=None if days_ago is None else now - timedelta(days=days_ago))
    return User.objects.get(pk=guest.pk)


def test_lists_guests_inactive_longer_than_the_days_with_sponsor_inviter_groups_and_apps(admin_client, admin, home):
    stale = _invited(home, admin, "stale@partner.example", days_ago=45)
    never = _invited(home, admin, "never@partner.example")
    _invited(home, admin, "recent@partner.example", days_ago=5)
    _invited(home, admin, "new@partner.example", created_days_ago=2)  # invited two days ago, not signed in yet
    UserFactory(tenant=home, last_sign_in_at=timezone.now() - timedelta(days=400))  # a member: never listed
    group = GroupFactory(tenant=home)
    group.members.add(stale)
    AssignmentFactory(application=ApplicationFactory(tenant=home), user=stale)
    body = admin_client.get(reverse(URL), {"tenant": str(home.pk), "days": "30"}).content.decode()
    table = body.split('id="inactive-guests"', 1)[1]
    assert table.index(never.display_name) < table.index(stale.display_name)  # most inactive first
    assert "recent@partner.example" not in table and "new@partner.example" not in table
    row = table.split(stale.display_name, 1)[1].split("</tr>", 1)[0]
    assert admin.display_name in row and "<td>45</td>" in row and "<td>1</td><td>1</td>" in row
    assert "Never" in table.split(never.display_name, 1)[1].split("</tr>", 1)[0]
    sixty = admin_client.get(reverse(URL), {"tenant": str(home.pk), "days": "60"}).content.decode()
    assert stale.display_name not in sixty and never.display_name in sixty


def test_a_custom_number_of_days_and_bad_input_get_a_precise_message_not_a_500(admin_client, admin, home):
    stale = _invited(home, admin, "stale@partner.example", days_ago=45)
    body = admin_client.get(reverse(URL), {"tenant": str(home.pk), "days": "custom", "custom_days": "40"})
    assert stale.display_name in body.content.decode()
    for query in ({"days": "custom"}, {"days": "custom", "custom_days": "0"}, {"days": "7"},
                  {"days": "custom", "custom_days": "x\x00"}, {"tenant": "not-a-tenant"},
                  {"tenant": str(TenantFactory().pk)}):
        response = admin_client.get(reverse(URL), query)
        assert response.status_code == 400, query
        assert 'class="errornote"' in response.content.decode()


def test_csv_has_every_inactive_guest_and_defuses_formulas(admin_client, admin, home):
    _invited(home, admin, "stale@partner.example", days_ago=45)
    formula = _invited(home, admin, "formula@partner.example")
    User.objects.filter(pk=formula.pk).update(display_name="=HYPERLINK(1)")
    response = admin_client.get(reverse(URL), {"tenant": str(home.pk), "days": "30", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert len(rows) == 2 and {r["daysInactive"] for r in rows} >= {"45"}
    assert any(r["displayName"] == "'=HYPERLINK(1)" and r["lastSignInDateTime"] == "never" for r in rows)
    assert all(r["invitedBy"] == admin.display_name for r in rows)


def test_a_guest_made_without_an_invitation_has_no_inviter_and_one_entitlement_management_invited_has_system(
        admin_client, admin, home):
    made = GuestFactory(tenant=home, created_at=timezone.now() - timedelta(days=100))
    silent = invitation_create(actor=Actor.system(home, "Entitlement management"), tenant=home,
                               email="em@partner.example", redirect_url="https://home.example/").invitation
    User.objects.filter(pk=silent.invited_user_id).update(created_at=timezone.now() - timedelta(days=100))
    response = admin_client.get(reverse(URL), {"tenant": str(home.pk), "days": "30", "format": "csv"})
    rows = {r["mail"]: r for r in csv.DictReader(io.StringIO(
        b"".join(response.streaming_content).decode().lstrip("\ufeff")))}
    assert rows[made.mail]["invitedBy"] == "—" and rows["em@partner.example"]["invitedBy"] == "system"


def test_only_readers_of_users_and_the_sign_in_log_see_it(client, home, admin):
    _invited(home, admin, "stale@partner.example", days_ago=45)
    user_admin = admin_of(home, Role.USER_ADMINISTRATOR)  # reads users, not the sign-in log
    client.force_login(user_admin.account)
    assert client.get(reverse(URL)).status_code == 404
    security = admin_of(home, Role.SECURITY_ADMINISTRATOR)  # reads both
    client.force_login(security.account)
    assert "stale@partner.example" in client.get(reverse(URL)).content.decode()
    other = admin_of(TenantFactory())
    client.force_login(other.account)
    response = client.get(reverse(URL), {"tenant": str(home.pk)})
    assert response.status_code == 400 and "stale@partner.example" not in response.content.decode()


def test_the_users_list_links_to_the_report(admin_client):
    assert reverse(URL) in admin_client.get(reverse("admin:directory_user_changelist")).content.decode()


def test_a_page_and_the_csv_run_a_fixed_number_of_queries_with_a_thousand_guests(admin_client, admin, home,
                                                                                   django_assert_max_num_queries):
    sponsor = UserFactory(tenant=home)
    old = timezone.now() - timedelta(days=200)
    guests = User.objects.bulk_create(GuestFactory.build(tenant=home, created_at=old) for _ in range(1000))
    User.sponsors.through.objects.bulk_create(User.sponsors.through(from_user_id=g.pk, to_user_id=sponsor.pk)
                                              for g in guests)
    group = GroupFactory(tenant=home)
    group.members.add(*guests[:500])
    admin_client.get(reverse(URL))  # warm the session and the console's per-request caches
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse(URL), {"tenant": str(home.pk), "days": "90", "page": "3"})
    table = response.content.decode().split('id="inactive-guests"', 1)[1].split("</table>", 1)[0]
    assert response.status_code == 200 and table.count("<tr>") == 101  # the header and a page of 100
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse(URL), {"tenant": str(home.pk), "days": "90", "format": "csv"})
        lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1001


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner and indexes")
def test_the_report_and_the_graph_filter_read_their_indexes_on_postgresql(home):
    from invitations.selectors import inactive_guests

    old = timezone.now() - timedelta(days=200)
    User.objects.bulk_create(GuestFactory.build(tenant=home, created_at=old) for _ in range(2000))
    User.objects.bulk_create(UserFactory.build(tenant=home, account=None) for _ in range(2000))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_user")
        cursor.execute("SET LOCAL enable_seqscan = off")
    query = inactive_guests(tenant=home, cutoff=timezone.now() - timedelta(days=30))[:100]
    assert "user_guest_inactive_idx" in query.explain()
    graph = User.objects.filter(tenant=home, user_type="Guest", last_sign_in_at__lte=timezone.now())
    assert "user_tenant_type_signin_idx" in graph.explain()
