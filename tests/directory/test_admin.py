"""The admin console: tenant isolation, writes through services, clear errors, constant queries."""

import pytest
from django.urls import reverse

from directory.models import Account, AuditEvent, Group, Role, User
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


@pytest.fixture
def two_tenants():
    home, other = TenantFactory(name="Home Co"), TenantFactory(name="Other Co")
    return home, other


@pytest.fixture
def home_admin_client(client, two_tenants):
    home, _ = two_tenants
    admin = admin_of(home)
    client.force_login(admin.account)
    return client


def changelist(model):
    return reverse(f"admin:directory_{model}_changelist")


def change(model, pk):
    return reverse(f"admin:directory_{model}_change", args=[pk])


@pytest.mark.parametrize(
    ("model", "make"),
    [
        ("user", lambda t, name: UserFactory(tenant=t, display_name=name)),
        ("group", lambda t, name: GroupFactory(tenant=t, display_name=name)),
        ("application", lambda t, name: ApplicationFactory(tenant=t, display_name=name)),
    ],
)
def test_lists_show_only_the_admins_tenants(home_admin_client, two_tenants, model, make):
    home, other = two_tenants
    make(other, "Theirs Secret")
    make(home, "Mine Visible")
    response = home_admin_client.get(changelist(model))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Mine Visible" in body
    assert "Theirs Secret" not in body
    assert "Other Co" not in body  # not even in the tenant filter


@pytest.mark.parametrize("model", ["user", "group", "application", "roleassignment", "auditevent"])
def test_another_tenants_object_by_url_is_404_like_a_missing_one(home_admin_client, two_tenants, model):
    import uuid

    _, other = two_tenants
    stranger_admin = admin_of(other)
    obj = {
        "user": lambda: stranger_admin,
        "group": lambda: GroupFactory(tenant=other),
        "application": lambda: ApplicationFactory(tenant=other),
        "roleassignment": lambda: stranger_admin.role_assignments.get(),
        "auditevent": lambda: AuditEvent.objects.create(tenant=other, activity_display_name="x", category="c"),
    }[model]()
    for url in (change(model, obj.pk), reverse(f"admin:directory_{model}_delete", args=[obj.pk]),
                reverse(f"admin:directory_{model}_history", args=[obj.pk])):
        assert home_admin_client.get(url).status_code == 404
    assert home_admin_client.get(change(model, uuid.uuid4())).status_code == 404


def test_actions_cannot_touch_another_tenants_users(home_admin_client, two_tenants):
    home, other = two_tenants
    victim = UserFactory(tenant=other)
    mine = UserFactory(tenant=home)
    response = home_admin_client.post(changelist("user"), {
        "action": "disable_selected", "_selected_action": [str(victim.pk), str(mine.pk)],
    })
    assert response.status_code == 302
    victim.refresh_from_db()
    mine.refresh_from_db()
    assert victim.account_enabled is True
    assert mine.account_enabled is False


def test_delete_action_is_a_soft_delete_scoped_to_the_tenant(home_admin_client, two_tenants):
    home, other = two_tenants
    victim, mine = UserFactory(tenant=other), UserFactory(tenant=home)
    home_admin_client.post(changelist("user"), {
        "action": "delete_selected", "_selected_action": [str(victim.pk), str(mine.pk)], "post": "yes",
    })
    assert User.objects.get(pk=mine.pk).deleted_at is not None
    assert User.objects.get(pk=victim.pk).deleted_at is None


def test_deleted_users_are_hidden_by_default_and_restorable(home_admin_client, two_tenants):
    home, _ = two_tenants
    gone = UserFactory(tenant=home, display_name="Gone Person")
    home_admin_client.post(reverse("admin:directory_user_delete", args=[gone.pk]), {"post": "yes"}, follow=True)
    assert "Gone Person" not in home_admin_client.get(changelist("user")).content.decode()
    assert "Gone Person" in home_admin_client.get(changelist("user") + "?state=deleted").content.decode()
    home_admin_client.post(changelist("user") + "?state=deleted", {
        "action": "restore_selected", "_selected_action": [str(gone.pk)],
    })
    assert User.objects.get(pk=gone.pk).deleted_at is None


def test_staff_without_any_role_sees_no_tenant_data(client, two_tenants):
    home, _ = two_tenants
    nobody = UserFactory(tenant=home)
    Account.objects.filter(pk=nobody.account_id).update(is_staff=True)
    client.force_login(Account.objects.get(pk=nobody.account_id))
    assert client.get(changelist("user")).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert "directory/user/" not in index


def test_group_administrator_may_read_users_but_not_change_them(client, two_tenants):
    home, _ = two_tenants
    admin = admin_of(home, Role.GROUPS_ADMINISTRATOR)
    member = UserFactory(tenant=home, job_title="Designer")
    client.force_login(admin.account)
    assert client.get(changelist("user")).status_code == 200
    response = client.post(change("user", member.pk), {"display_name": "Hacked"})
    assert response.status_code == 403
    assert User.objects.get(pk=member.pk).display_name != "Hacked"


def test_superuser_sees_every_tenant(client, two_tenants):
    home, other = two_tenants
    UserFactory(tenant=home, display_name="Home Person")
    UserFactory(tenant=other, display_name="Other Person")
    client.force_login(Account.objects.create_superuser("root@platform.example", "x-Long-password-1"))
    body = client.get(changelist("user")).content.decode()
    assert "Home Person" in body and "Other Person" in body


def user_form(tenant, **overrides):
    data = {
        "tenant": str(tenant.pk), "user_type": "Member", "display_name": "New Person",
        "user_principal_name": f"new@{tenant.initial_domain}", "given_name": "", "surname": "", "mail": "",
        "other_mails": "", "job_title": "", "company_name": "", "account_enabled": "on", "password": "",
        "identities-TOTAL_FORMS": "0", "identities-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_admin_adds_a_member_through_the_service_with_audit(home_admin_client, two_tenants):
    home, _ = two_tenants
    response = home_admin_client.post(reverse("admin:directory_user_add"),
                                      user_form(home, password="Long-enough-passphrase-7"))
    assert response.status_code == 302, response.content.decode()[:3000]
    user = User.objects.get(user_principal_name=f"new@{home.initial_domain}")
    assert user.account.check_password("Long-enough-passphrase-7")
    assert AuditEvent.objects.filter(tenant=home, activity_display_name="Add user").exists()


@pytest.mark.parametrize(("ticked", "required"), [("on", True), (None, False)])
def test_a_member_added_with_a_password_must_change_it_when_the_admin_says_so(home_admin_client, two_tenants,
                                                                              ticked, required):
    home, _ = two_tenants
    form = user_form(home, password="Long-enough-passphrase-7")
    if ticked:
        form["force_password_change"] = ticked
    assert "force_password_change" in home_admin_client.get(reverse("admin:directory_user_add")).content.decode()

    response = home_admin_client.post(reverse("admin:directory_user_add"), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    account = User.objects.get(user_principal_name=f"new@{home.initial_domain}").account
    assert account.password_change_required is required


def test_admin_cannot_add_a_user_to_another_tenant(home_admin_client, two_tenants):
    _, other = two_tenants
    response = home_admin_client.post(reverse("admin:directory_user_add"), user_form(other))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not User.objects.filter(tenant=other).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"user_principal_name": "DUP@{domain}"}, "user principal name already exists"),
        ({"mail": "taken@partner.example"}, "mail address already exists"),
        ({"display_name": "x" * 300}, "at most 256 characters"),
        ({"user_principal_name": "new@not-ours.example"}, "is not a verified domain"),
        ({"mail": "not an email"}, "valid email"),
    ],
)
def test_bad_user_input_gets_a_clear_error_and_saves_nothing(home_admin_client, two_tenants, overrides, message):
    home, _ = two_tenants
    UserFactory(tenant=home, user_principal_name=f"dup@{home.initial_domain}", mail="taken@partner.example")
    before = User.objects.count(), AuditEvent.objects.count()
    data = user_form(home, **{k: v.format(domain=home.initial_domain) for k, v in overrides.items()})
    response = home_admin_client.post(reverse("admin:directory_user_add"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (User.objects.count(), AuditEvent.objects.count()) == before


def test_duplicate_upn_on_change_form_is_a_clear_error(home_admin_client, two_tenants):
    home, _ = two_tenants
    UserFactory(tenant=home, user_principal_name=f"first@{home.initial_domain}")
    second = UserFactory(tenant=home, user_principal_name=f"second@{home.initial_domain}")
    data = user_form(home, user_principal_name=f"FIRST@{home.initial_domain}", display_name=second.display_name)
    data.pop("password")
    data.pop("tenant")
    response = home_admin_client.post(change("user", second.pk), data)
    assert response.status_code == 200
    assert "user principal name already exists" in response.content.decode()
    second.refresh_from_db()
    assert second.user_principal_name == f"second@{home.initial_domain}"


def test_group_members_from_another_tenant_are_refused(home_admin_client, two_tenants):
    home, other = two_tenants
    group = GroupFactory(tenant=home)
    stranger = UserFactory(tenant=other)
    response = home_admin_client.post(change("group", group.pk), {
        "display_name": group.display_name, "description": "", "members": [str(stranger.pk)], "owners": [],
    })
    assert response.status_code == 200
    assert group.members.count() == 0


def test_group_edit_goes_through_the_service_and_is_audited(home_admin_client, two_tenants):
    home, _ = two_tenants
    group = GroupFactory(tenant=home)
    member = UserFactory(tenant=home)
    response = home_admin_client.post(change("group", group.pk), {
        "display_name": "Renamed", "description": "d", "members": [str(member.pk)], "owners": [],
    })
    assert response.status_code == 302
    assert list(Group.objects.get(pk=group.pk).members.all()) == [member]
    event = AuditEvent.objects.get(activity_display_name="Update group")
    changed = {p["displayName"] for p in event.target_resources[0]["modifiedProperties"]}
    assert changed == {"display_name", "description", "members"}


def test_audit_log_is_read_only(home_admin_client, two_tenants):
    home, _ = two_tenants
    event = AuditEvent.objects.create(tenant=home, activity_display_name="Add user", category="UserManagement")
    assert home_admin_client.get(change("auditevent", event.pk)).status_code == 200
    assert home_admin_client.post(change("auditevent", event.pk), {"activity_display_name": "x"}).status_code == 403
    assert home_admin_client.get(reverse("admin:directory_auditevent_add")).status_code == 403
    assert home_admin_client.post(reverse("admin:directory_auditevent_delete", args=[event.pk]),
                                  {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk, activity_display_name="Add user").exists()


def test_user_list_is_constant_query_with_a_thousand_users(home_admin_client, two_tenants,
                                                           django_assert_max_num_queries):
    home, other = two_tenants
    User.objects.bulk_create(
        User(tenant=t, display_name=f"P{i}", user_principal_name=f"p{i}@{t.initial_domain}",
             user_type=("Guest" if i % 3 else "Member"))
        for t in (home, other) for i in range(1100)
    )
    pages = {}
    for url in (changelist("user"), changelist("user") + "?user_type__exact=Guest",
                changelist("user") + "?q=P1", changelist("user") + "?p=5"):
        with django_assert_max_num_queries(12):
            response = home_admin_client.get(url)
        assert response.status_code == 200
        pages[url] = response.content.decode()
    # 1,100 bulk users + the admin, in the admin's tenant only; 100 per page.
    assert "1101 users" in pages[changelist("user")]
    assert pages[changelist("user")].count('name="_selected_action"') == 100


def test_user_list_filters_by_type_state_and_enabled(home_admin_client, two_tenants):
    home, _ = two_tenants
    GuestFactory(tenant=home, display_name="Guest Pending")
    UserFactory(tenant=home, display_name="Blocked Member", account_enabled=False)
    body = home_admin_client.get(changelist("user") + "?user_type__exact=Guest").content.decode()
    assert "Guest Pending" in body and "Blocked Member" not in body
    body = home_admin_client.get(changelist("user") + "?account_enabled__exact=0").content.decode()
    assert "Blocked Member" in body and "Guest Pending" not in body
    body = home_admin_client.get(changelist("user") + "?external_user_state__exact=PendingAcceptance").content.decode()
    assert "Guest Pending" in body and "Blocked Member" not in body


def test_application_assignment_inline_lists_principals(home_admin_client, two_tenants):
    home, _ = two_tenants
    assignment = AssignmentFactory(application__tenant=home, user=UserFactory(tenant=home, display_name="Assignee"))
    body = home_admin_client.get(change("application", assignment.application.pk)).content.decode()
    assert "Assignee" in body


def test_other_mails_are_edited_one_per_line_not_as_json(home_admin_client, two_tenants):
    home, _ = two_tenants
    guest = GuestFactory(tenant=home, other_mails=["ann@partner.example", "ann.p@partner.example"])
    body = home_admin_client.get(change("user", guest.pk)).content.decode()
    area = body.split('name="other_mails"', 1)[1].split("</textarea>", 1)[0]
    assert "ann@partner.example\nann.p@partner.example" in area
    assert "[&quot;" not in area
