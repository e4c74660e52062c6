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


# --- sponsors: add and remove through the sponsors service ------------------------------------------


def _guest(home, admin):
    return invitation_create(actor=Actor.for_user(admin), tenant=home, email="ann@partner.example",
                             redirect_url="https://home.example/").invitation.invited_user


def test_the_inviter_is_the_sponsor_and_an_admin_adds_and_removes_sponsors_audited(admin_client, admin, home):
    guest = _guest(home, admin)
    assert list(guest.sponsors.all()) == [admin]
    sam = UserFactory(tenant=home, display_name="Sam Sponsor", user_principal_name="sam@home.example")
    page = reverse("admin:directory_user_change", args=[guest.pk])
    assert reverse("admin:directory_user_sponsor_add", args=[guest.pk]) in admin_client.get(page).content.decode()
    response = admin_client.post(reverse("admin:directory_user_sponsor_add", args=[guest.pk]),
                                 {"new_sponsor": "SAM@home.example"}, follow=True)
    assert "Sam Sponsor now sponsors" in response.content.decode()
    assert set(guest.sponsors.values_list("pk", flat=True)) == {admin.pk, sam.pk}
    admin_client.post(reverse("admin:directory_user_sponsor_remove", args=[guest.pk]), {"sponsor": str(admin.pk)})
    assert list(guest.sponsors.all()) == [sam]
    changes = [e.target_resources[0]["modifiedProperties"][0]["newValue"] for e in AuditEvent.objects.filter(
        activity_display_name="Update user").order_by("activity_date_time", "id")]
    assert len(changes) == 2 and str(sam.pk) in changes[0] and str(admin.pk) not in changes[1]


def test_adding_an_unknown_or_another_tenants_user_or_the_guest_itself_is_refused_with_a_message(
        admin_client, admin, home):
    guest = _guest(home, admin)
    outsider = UserFactory(tenant=TenantFactory(), user_principal_name="eve@elsewhere.example")
    url = reverse("admin:directory_user_sponsor_add", args=[guest.pk])
    for text, message in ((outsider.user_principal_name, "No user of this organization"),
                          ("nobody\x00@home.example", "No user of this organization"),
                          (guest.mail, "cannot sponsor itself")):
        body = admin_client.post(url, {"new_sponsor": text}, follow=True).content.decode()
        assert message in body
    assert list(guest.sponsors.all()) == [admin]


def test_a_reader_without_user_management_sees_sponsors_but_no_buttons_and_cannot_post(client, admin, home):
    guest = _guest(home, admin)
    reader = admin_of(home, Role.SECURITY_ADMINISTRATOR)  # reads users, does not manage them
    client.force_login(reader.account)
    body = client.get(reverse("admin:directory_user_change", args=[guest.pk])).content.decode()
    assert admin.display_name in body.split('id="user-section-sponsors"', 1)[1]
    assert reverse("admin:directory_user_sponsor_add", args=[guest.pk]) not in body
    client.post(reverse("admin:directory_user_sponsor_remove", args=[guest.pk]), {"sponsor": str(admin.pk)})
    assert list(guest.sponsors.all()) == [admin]


def test_another_tenants_admin_cannot_change_sponsors(client, admin, home):
    guest = _guest(home, admin)
    theirs = admin_of(TenantFactory())
    client.force_login(theirs.account)
    response = client.post(reverse("admin:directory_user_sponsor_remove", args=[guest.pk]), {"sponsor": str(admin.pk)})
    assert response.status_code in (302, 404)
    assert list(guest.sponsors.all()) == [admin]
