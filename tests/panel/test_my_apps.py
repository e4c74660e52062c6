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
    # session, account, organizations (with this tenant, the user and its roles), the tiles with their
    # owners' names and the apps one may request (one query); branding and the tenant's settings come from
    # the per-process copies (directory/tenant_cache.py), the Invite section's rule is asked once
    max_queries = 4

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
        launch = reverse("directory:launch", args=[tenant.slug, self.assigned.pk])
        assert f'<a href="{launch}" target="_blank" rel="noopener">' in page  # the whole tile, in a new tab


class TestLaunch(PanelPageContract):
    route = "directory:launch"
    member_status = 302  # to the app
    # session, account, organizations (with this tenant and the user), the app, its assignment
    max_queries = 6

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


def test_a_tile_names_the_apps_owners_the_person_may_see():
    """Members see every owner; a guest with the default (limited) access level sees no one else's name."""
    from directory.actors import Actor
    from policies import services as policy_services
    from tests.factories import AccountFactory, GuestFactory

    tenant = TenantFactory()
    owner = UserFactory(tenant=tenant, display_name="Olga Owner")
    member = UserFactory(tenant=tenant)
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted")
    app = ApplicationFactory(tenant=tenant, display_name="Payroll")
    app.owners.add(owner)
    for person in (member, guest):
        AssignmentFactory(application=app, user=person)
    url = reverse("directory:panel", args=[tenant.slug])
    assert "Owner: Olga Owner" in signed_in(member).get(url).content.decode()
    assert "Olga Owner" not in signed_in(guest).get(url).content.decode()
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant,
        changes={"guest_user_role_id": "a0b1b346-4d3e-4e8b-98f8-753987be4970"})  # same access as members
    assert "Owner: Olga Owner" in signed_in(guest).get(url).content.decode()


def test_search_without_javascript_filters_the_persons_own_apps_on_the_server():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    for name in ("Payroll", "Pay slips", "Travel"):
        AssignmentFactory(application=ApplicationFactory(tenant=tenant, display_name=name), user=member)
    ApplicationFactory(tenant=tenant, display_name="Payments (not mine)")
    client = signed_in(member)
    page = client.get(reverse("directory:panel", args=[tenant.slug]), {"q": "PAY"}).content.decode()
    assert "Payroll" in page and "Pay slips" in page and "Travel" not in page and "not mine" not in page
    assert 'value="PAY"' in page and "data-partial" in page  # the script reloads instead of filtering the rest
    empty = client.get(reverse("directory:panel", args=[tenant.slug]), {"q": "zzz"}).content.decode()
    assert "No app matches" in empty


def test_request_access_is_offered_only_where_the_request_page_exists():
    """Until the self-service request page (directory:app_access_request) exists, no app offers it."""
    from django.urls import NoReverseMatch

    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    page = signed_in(member).get(reverse("directory:panel", args=[tenant.slug])).content.decode()
    try:
        reverse("directory:app_access_request", args=[tenant.slug, member.pk])
    except NoReverseMatch:
        assert "Request access" not in page and "Apps you can request" not in page
        return
    # The page exists: an app that allows self-service access and is not assigned offers it, linked.
    mine = ApplicationFactory(tenant=tenant, display_name="Mine", self_service_enabled=True)
    AssignmentFactory(application=mine, user=member)
    requestable = ApplicationFactory(tenant=tenant, display_name="Project Tracker", self_service_enabled=True)
    ApplicationFactory(tenant=tenant, display_name="Closed App")
    page = signed_in(member).get(reverse("directory:panel", args=[tenant.slug])).content.decode()
    offered = page[page.index("Apps you can request"):]
    assert reverse("directory:app_access_request", args=[tenant.slug, requestable.pk]) in offered
    assert "Closed App" not in page and "Mine" not in offered


def test_a_guest_with_a_thousand_apps_runs_a_fixed_number_of_queries(django_assert_max_num_queries):
    """The guest's visibility rule (its access level) adds one query, not one per app or owner."""
    from tests.factories import AccountFactory, GuestFactory

    tenant = TenantFactory()
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted")
    assign_many(tenant, guest, 1000)
    owner = UserFactory(tenant=tenant)
    links = Application.owners.through
    links.objects.bulk_create(links(application_id=pk, user_id=owner.pk)
                              for pk in Application.objects.filter(tenant=tenant).values_list("pk", flat=True))
    client = signed_in(guest)
    client.get(reverse("directory:panel", args=[tenant.slug]))  # steady state: per-tenant caches warm
    with django_assert_max_num_queries(TestMyApps.max_queries + 1):
        response = client.get(reverse("directory:panel", args=[tenant.slug]))
    assert response.content.decode().count('class="tile app"') == 1000


def test_tiles_escape_what_they_show():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    owner = UserFactory(tenant=tenant, display_name="O'Brien <b>")
    app = ApplicationFactory(tenant=tenant, display_name='<script>alert("x")</script>', description="a & b")
    app.owners.add(owner)
    AssignmentFactory(application=app, user=member)
    page = signed_in(member).get(reverse("directory:panel", args=[tenant.slug])).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "O&#x27;Brien &lt;b&gt;" in page and "a &amp; b" in page
