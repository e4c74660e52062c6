"""A user's page in the admin console shows their groups, apps, roles, invitation history and sponsors,
with resend and reset redemption for their invitations, in a fixed number of queries."""

import pytest
from django.urls import reverse

from directory.actors import Actor
from directory.models import AuditEvent, Role, RoleAssignment
from invitations.services import invitation_create
from tests.factories import ApplicationFactory, AssignmentFactory, GroupFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


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


def test_user_page_shows_groups_apps_roles_invitations_and_sponsors(admin_client, admin, home):
    sponsor = UserFactory(tenant=home, display_name="Sam Sponsor")
    invitation = invitation_create(actor=Actor.for_user(admin), tenant=home, email="ann@partner.example",
                                   redirect_url="https://home.example/", sponsors=[sponsor]).invitation
    guest = invitation.invited_user
    group = GroupFactory(tenant=home, display_name="Project Falcon")
    group.members.add(guest)
    via_group = ApplicationFactory(tenant=home, display_name="Expense Reports")
    AssignmentFactory(application=via_group, group=group)
    direct = ApplicationFactory(tenant=home, display_name="Timesheets")
    AssignmentFactory(application=direct, user=guest)
    RoleAssignment.objects.create(tenant=home, user=guest, role=Role.GUEST_INVITER)
    url = reverse("admin:directory_user_change", args=[guest.pk])
    body = admin_client.get(url).content.decode()

    def section(key):
        return body.split(f'id="user-section-{key}"', 1)[1].split("</fieldset>", 1)[0]

    assert "Project Falcon" in section("groups")
    assert "Timesheets" in section("apps") and "through the group Project Falcon" in section("apps")
    assert "Guest Inviter" in section("roles")
    assert "Sam Sponsor" in section("sponsors")
    history = section("invitations")
    assert "ann@partner.example" in history and "Pending acceptance" in history
    assert 'value="resend_selected"' in history and f'name="next" value="{url}"' in history
    assert reverse("admin:invitations_invitation_reset_redemption", args=[invitation.pk]) in history


def test_resend_from_the_user_page_returns_to_it(admin_client, admin, home):
    invitation = invitation_create(actor=Actor.for_user(admin), tenant=home, email="ann@partner.example",
                                   redirect_url="https://home.example/").invitation
    url = reverse("admin:directory_user_change", args=[invitation.invited_user_id])
    response = admin_client.post(reverse("admin:invitations_invitation_changelist"), {
        "action": "resend_selected", "_selected_action": [str(invitation.pk)], "next": url})
    assert response["Location"] == url
    assert AuditEvent.objects.filter(activity_display_name="Resend external user invite").count() == 1


def test_user_page_queries_do_not_grow_with_groups_and_invitations(admin_client, admin, home,
                                                                   django_assert_max_num_queries):
    guest = None
    for _ in range(8):
        guest = invitation_create(actor=Actor.for_user(admin), tenant=home, email="ann@partner.example",
                                  redirect_url="https://home.example/").invitation.invited_user
    for _ in range(15):
        group = GroupFactory(tenant=home)
        group.members.add(guest)
        AssignmentFactory(application=ApplicationFactory(tenant=home), group=group)
    with django_assert_max_num_queries(30):
        response = admin_client.get(reverse("admin:directory_user_change", args=[guest.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("resend_selected") == 1  # only the pending one
