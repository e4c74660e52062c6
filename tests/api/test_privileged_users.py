"""Privileged users are protected from less privileged ones (issue 8, item 5): a User Administrator cannot
block, delete, reset or change a Global Administrator, in the services, the admin console and the API."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from directory import services
from directory.actors import Actor
from directory.models import Role, RoleAssignment, User
from invitations import services as invitation_services
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return TenantFactory()


@pytest.fixture
def user_admin(tenant):
    return admin_of(tenant, Role.USER_ADMINISTRATOR)


@pytest.fixture
def global_admin(tenant):
    return admin_of(tenant, Role.GLOBAL_ADMINISTRATOR)


# --- services -----------------------------------------------------------------------------------

def test_a_user_administrator_cannot_block_delete_or_change_a_global_administrator(user_admin, global_admin):
    actor = Actor.for_user(user_admin)
    for change in ({"account_enabled": False}, {"display_name": "Mallory"}, {"mail": "x@evil.example"}):
        with pytest.raises(PermissionDenied):
            services.user_update(actor=actor, user=global_admin, changes=change)
    with pytest.raises(PermissionDenied):
        services.user_delete(actor=actor, user=global_admin)
    global_admin.refresh_from_db()
    assert global_admin.account_enabled and global_admin.deleted_at is None and global_admin.display_name != "Mallory"


def test_a_user_administrator_manages_plain_users_and_other_user_administrators(tenant, user_admin):
    actor = Actor.for_user(user_admin)
    plain, peer = UserFactory(tenant=tenant), admin_of(tenant, Role.USER_ADMINISTRATOR)
    services.user_update(actor=actor, user=plain, changes={"account_enabled": False})
    services.user_update(actor=actor, user=peer, changes={"account_enabled": False})
    assert not User.objects.get(pk=plain.pk).account_enabled and not User.objects.get(pk=peer.pk).account_enabled


def test_a_global_administrator_manages_another_global_administrator(tenant, global_admin):
    other = admin_of(tenant, Role.GLOBAL_ADMINISTRATOR)
    services.user_update(actor=Actor.for_user(global_admin), user=other, changes={"account_enabled": False})
    assert not User.objects.get(pk=other.pk).account_enabled


def test_only_those_who_manage_roles_change_them_and_never_above_their_rank(tenant, user_admin, global_admin):
    target = UserFactory(tenant=tenant)
    with pytest.raises(PermissionDenied):  # a User Administrator assigns no roles at all
        services.role_assign(actor=Actor.for_user(user_admin), user=target, role=Role.GUEST_INVITER)
    with pytest.raises(PermissionDenied):
        services.role_unassign(actor=Actor.for_user(user_admin),
                               assignment=RoleAssignment.objects.get(user=global_admin))
    services.role_assign(actor=Actor.for_user(global_admin), user=target, role=Role.GUEST_INVITER)
    assert RoleAssignment.objects.filter(user=target, role=Role.GUEST_INVITER).exists()


def test_a_user_administrator_cannot_reset_the_redemption_of_a_guest_who_is_global_administrator(
        tenant, user_admin):
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted", mail="boss@partner.example")
    RoleAssignment.objects.create(tenant=tenant, user=guest, role=Role.GLOBAL_ADMINISTRATOR)
    with pytest.raises(PermissionDenied):
        invitation_services.invitation_reset_redemption(
            actor=Actor.for_user(user_admin), user=guest, email="boss@partner.example",
            redirect_url="https://apps.example/")
    assert User.objects.get(pk=guest.pk).external_user_state == "Accepted"


# --- admin console ------------------------------------------------------------------------------

def test_console_block_action_refuses_a_global_administrator_and_says_why(client, tenant, user_admin, global_admin):
    plain = UserFactory(tenant=tenant)
    client.force_login(user_admin.account)
    response = client.post(reverse("admin:directory_user_changelist"), {
        "action": "disable_selected", "_selected_action": [str(global_admin.pk), str(plain.pk)]}, follow=True)
    assert response.status_code == 200
    assert "more privileged role" in response.content.decode()
    assert User.objects.get(pk=global_admin.pk).account_enabled
    assert not User.objects.get(pk=plain.pk).account_enabled


def test_console_shows_a_global_administrator_read_only_to_a_user_administrator(client, user_admin, global_admin):
    client.force_login(user_admin.account)
    url = reverse("admin:directory_user_change", args=[global_admin.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="display_name"' not in page.content.decode()
    client.post(url, {"display_name": "Mallory"})
    assert User.objects.get(pk=global_admin.pk).display_name != "Mallory"
    assert client.post(reverse("admin:directory_user_delete", args=[global_admin.pk]),
                       {"post": "yes"}).status_code == 403
    assert User.objects.get(pk=global_admin.pk).deleted_at is None


# --- API ----------------------------------------------------------------------------------------

def test_api_refuses_a_user_administrators_token_on_a_global_administrator(api, delegated_token_for, user_admin,
                                                                          global_admin, tenant):
    client = api(delegated_token_for(user_admin, ["User.ReadWrite.All"]))
    blocked = client.patch(f"/v1.0/users/{global_admin.pk}", {"accountEnabled": False}, format="json")
    assert blocked.status_code == 403 and blocked.json()["error"]["code"] == "Authorization_RequestDenied"
    assert client.delete(f"/v1.0/users/{global_admin.pk}").status_code == 403
    plain = UserFactory(tenant=tenant)
    assert client.patch(f"/v1.0/users/{plain.pk}", {"accountEnabled": False}, format="json").status_code == 204
    global_admin.refresh_from_db()
    assert global_admin.account_enabled and global_admin.deleted_at is None


def test_api_app_only_token_cannot_block_a_user_who_holds_a_role(api, app_token_for, tenant, user_admin):
    client = api(app_token_for(tenant, ["User.ReadWrite.All"]))
    assert client.patch(f"/v1.0/users/{user_admin.pk}", {"accountEnabled": False}, format="json").status_code == 403
    assert User.objects.get(pk=user_admin.pk).account_enabled
