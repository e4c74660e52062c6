"""My Apps (/t/<tenant>/) and launching an app from it (/t/<tenant>/apps/<id>/)."""

import pytest
from django.test import Client
from django.urls import reverse

from directory.models import Application, AppRoleAssignment
from tests.factories import ApplicationFactory, AssignmentFactory, GroupFactory, TenantFactory, UserFactory
from tests.panel.contract import PanelPageContract

pytestmark = pytest.mark.django_db


class TestMyApps(PanelPageContract):
    route = "directory:panel"
    # tenant, session, account, user, the user's account (the actor), apps, branding, organizations, and the
    # tenant's collaboration settings (whether "Invite someone" is in the navigation)
    max_queries = 9

    def make_target(self, tenant, user):
        self.assigned = ApplicationFactory(tenant=tenant, display_name="Assigned Tile")
        self.unassigned = ApplicationFactory(tenant=tenant, display_name="Someone Else's Tile")
        if user is not None:
            AssignmentFactory(application=self.assigned, user=user)
        return {}

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert self.assigned.display_name in page
        assert "Someone Else&#x27;s Tile" not in page and self.unassigned.display_name not in page


class TestLaunch(PanelPageContract):
    route = "directory:launch"
    member_status = 302  # to the app
    # tenant, session, account, user, the user's account (the actor), the app, its assignment
    max_queries = 7

    def make_target(self, tenant, user):
        app = ApplicationFactory(tenant=tenant, launch_url=f"https://{tenant.slug}.apps.example/start")
        if user is not None:
            AssignmentFactory(application=app, user=user)
        return {"app_id": app.pk}

    def check_success(self, response, tenant, user, target):
        assert response["Location"] == Application.objects.get(pk=target["app_id"]).launch_url


# --- behaviour --------------------------------------------------------------------------------


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def assign_many(tenant, user, count: int) -> None:
    apps = Application.objects.bulk_create(
        Application(tenant=tenant, display_name=f"App {n:04}", launch_url="https://app.example") for n in range(count))
    group = GroupFactory(tenant=tenant)
    group.members.add(user)
    half = count // 2
    AppRoleAssignment.objects.bulk_create(
        [AppRoleAssignment(tenant=tenant, application=app, user=user) for app in apps[:half]]
        + [AppRoleAssignment(tenant=tenant, application=app, group=group) for app in apps[half:]])


def test_my_apps_runs_the_same_few_queries_for_one_app_and_for_a_thousand(django_assert_max_num_queries):
    """Assigned directly or through a group, 1,000 apps cost what one costs (DESIGN §9)."""
    few, many = TenantFactory(), TenantFactory()
    one_app, thousand_apps = UserFactory(tenant=few), UserFactory(tenant=many)
    assign_many(few, one_app, 1)
    assign_many(many, thousand_apps, 1000)
    small_client, large_client = signed_in(one_app), signed_in(thousand_apps)
    for client, tenant in ((small_client, few), (large_client, many)):  # steady state: per-tenant caches warm
        client.get(reverse("directory:panel", args=[tenant.slug]))
    with django_assert_max_num_queries(TestMyApps.max_queries) as one:
        small = small_client.get(reverse("directory:panel", args=[few.slug]))
    with django_assert_max_num_queries(TestMyApps.max_queries) as thousand:
        large = large_client.get(reverse("directory:panel", args=[many.slug]))
    assert small.status_code == large.status_code == 200
    assert len(thousand) == len(one)
    assert large.content.decode().count('class="tile app"') == 1000


def test_launching_an_app_not_assigned_to_you_says_so_and_whom_to_ask_and_through_a_group_works():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    not_mine, through_group = ApplicationFactory(tenant=tenant), ApplicationFactory(tenant=tenant)
    owner = UserFactory(tenant=tenant, display_name="Olga Owner", mail="olga@owner.example")
    not_mine.owners.add(owner)
    group = GroupFactory(tenant=tenant)
    group.members.add(member)
    AssignmentFactory(application=through_group, group=group)
    client = signed_in(member)
    refused = client.get(reverse("directory:launch", args=[tenant.slug, not_mine.pk]))
    body = refused.content.decode()
    assert refused.status_code == 403 and "Location" not in refused
    assert f"have access to {not_mine.display_name}" in body.replace("&#x27;", "'")
    assert "Olga Owner" in body and "mailto:olga@owner.example" in body
    other = ApplicationFactory(tenant=TenantFactory())
    assert client.get(reverse("directory:launch", args=[tenant.slug, other.pk])).status_code == 404
    response = client.get(reverse("directory:launch", args=[tenant.slug, through_group.pk]))
    assert response.status_code == 302 and response["Location"] == through_group.launch_url
