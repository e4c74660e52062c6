"""The admin home: per tenant, guests by state, invitations (pending, expiring, accepted in 30 days,
with a chart and its table), bulk jobs running and undelivered mail, counted in a fixed number of
queries; "Recent actions" are the services' audit rows, invitations included."""

import datetime
import json
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from directory.actors import Actor
from directory.models import OutboxMessage, User
from invitations.models import BulkInvitationJob, Invitation
from invitations.services import invitation_create
from tests.factories import GuestFactory, TenantFactory, admin_of

pytestmark = pytest.mark.django_db

HOME = reverse("admin:index")


@pytest.fixture
def home():
    return TenantFactory(name="Home Co", slug="home", initial_domain="home.example")


@pytest.fixture
def admin(home):
    return admin_of(home)


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin.account)
    return client


def count(body: str, tenant, name: str) -> int:
    article = body.split(f'data-tenant="{tenant.slug}"', 1)[1].split("</article>", 1)[0]
    return int(re.search(rf'data-count="{name}">(\d+)<', article).group(1))


def invite(admin, home, email, **kwargs):
    return invitation_create(actor=Actor.for_user(admin), tenant=home, email=email,
                             redirect_url="https://home.example/", **kwargs).invitation


def test_overview_counts_match_the_data(admin_client, admin, home):
    other = TenantFactory(name="Other Co", slug="other")
    for n in range(3):
        invite(admin, home, f"p{n}@partner.example")
    GuestFactory(tenant=home, external_user_state=User.ExternalUserState.ACCEPTED, account_enabled=False)
    GuestFactory(tenant=other)  # not this admin's tenant
    soon = invite(admin, home, "soon@partner.example")
    Invitation.objects.filter(pk=soon.pk).update(expires_at=timezone.now() + datetime.timedelta(days=2))
    took = invite(admin, home, "took@partner.example")
    Invitation.objects.filter(pk=took.pk).update(status=Invitation.Status.COMPLETED, redeemed_at=timezone.now())
    BulkInvitationJob.objects.create(tenant=home, file_name="a.csv", state=BulkInvitationJob.State.RUNNING)
    BulkInvitationJob.objects.create(tenant=home, file_name="b.csv", state=BulkInvitationJob.State.FINISHED)
    OutboxMessage.objects.create(tenant=home, from_email="x@home.example", to=["a@b.example"], subject="s",
                                 body_text="t", status=OutboxMessage.Status.FAILED)
    body = admin_client.get(HOME).content.decode()
    assert 'data-tenant="other"' not in body
    guests = User.objects.guests().filter(tenant=home)
    assert count(body, home, "guests-total") == guests.count() == 6
    assert count(body, home, "guests-pending") == guests.filter(external_user_state="PendingAcceptance").count() == 5
    assert count(body, home, "guests-accepted") == 1
    assert count(body, home, "guests-disabled") == 1
    assert count(body, home, "invitations-pending") == 4
    assert count(body, home, "invitations-expiring") == 1
    assert count(body, home, "invitations-accepted") == 1
    assert count(body, home, "bulk-running") == 1
    assert count(body, home, "mail-undelivered") == 1


def test_the_chart_is_fed_by_json_script_and_has_a_table(admin_client, admin, home):
    invite(admin, home, "ann@partner.example")
    body = admin_client.get(HOME).content.decode()
    assert "vendor/chart.js/chart.umd.js" in body and "js/admin_overview.js" in body
    data = json.loads(re.search(rf'<script id="chart-invitations-{home.pk}" type="application/json">(.*?)</script>',
                                body).group(1))
    assert sum(data["series"][0]["values"]) == 1 and len(data["labels"]) == 30
    assert 'data-chart-table="invitations"' in body
    assert "<script>" not in body  # no inline script (CSP)


def test_recent_actions_are_audit_rows_and_include_invitations(admin_client, admin, home):
    invite(admin, home, "ann@partner.example")
    sidebar = admin_client.get(HOME).content.decode().split('id="recent-actions-module"', 1)[1]
    assert "Invite external user" in sidebar
    assert "ann_partner.example#EXT#@home.example" in sidebar


def test_home_page_queries_do_not_grow_with_tenants_or_rows(client, django_assert_max_num_queries):
    tenants = [TenantFactory() for _ in range(6)]
    for tenant in tenants:
        inviter = admin_of(tenant)
        for n in range(5):
            invite(inviter, tenant, f"g{n}@partner.example")
    operator = admin_of(tenants[0]).account
    operator.is_superuser = True
    operator.save(update_fields=["is_superuser"])
    client.force_login(operator)
    with django_assert_max_num_queries(20):
        body = client.get(HOME).content.decode()
    assert body.count('class="overview-tenant"') == 6
