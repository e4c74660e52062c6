import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from directory.actors import Actor
from directory.models import AuditEvent, Role
from policies import services
from policies.models import CollaborationSettings
from policies.selectors import collaboration_settings_for, group_members_visible_to, groups_visible_to, users_visible_to
from tests.factories import GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db
GA = CollaborationSettings.GuestAccess


def test_defaults_match_entra():
    settings = collaboration_settings_for(TenantFactory())
    assert settings.allow_invites_from == "adminsGuestInvitersAndAllMembers"
    assert settings.guest_user_role_id == "10dae51f-b6af-4016-8d66-8c2a99b929b3"
    assert settings.email_otp_enabled and settings.guests_can_leave and not settings.self_service_sign_up_enabled
    assert settings.domain_list_type == "none"


def test_update_is_audited_with_old_and_new_values():
    tenant = TenantFactory()
    services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={"allow_invites_from": "none"})
    event = AuditEvent.objects.get(tenant=tenant, category="Policy")
    [prop] = event.target_resources[0]["modifiedProperties"]
    assert (prop["oldValue"], prop["newValue"]) == ('"adminsGuestInvitersAndAllMembers"', '"none"')


def test_switching_list_type_discards_the_old_list():
    tenant = TenantFactory()
    services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "allow", "domains": ["partner.example"]})
    settings = services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant, changes={"domain_list_type": "block"})
    assert settings.domains == []


def test_domain_list_over_25_kb_is_refused_and_nothing_changes():
    tenant = TenantFactory()
    domains = [f"d{i:05d}-partner.example" for i in range(1500)]
    with pytest.raises(ValidationError) as exc:
        services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
            "domain_list_type": "block", "domains": domains})
    assert "25 KB" in str(exc.value)
    assert collaboration_settings_for(tenant).domain_list_type == "none"


def test_invalid_domain_in_list_is_refused():
    with pytest.raises(ValidationError):
        services.collaboration_settings_update(actor=Actor.operator(), tenant=TenantFactory(), changes={
            "domain_list_type": "block", "domains": ["not a domain"]})


def test_settings_page_lists_only_own_tenants_and_edits_through_the_service(client):
    tenant, other = TenantFactory(name="Mine Co"), TenantFactory(name="Theirs Co")
    client.force_login(admin_of(tenant).account)
    listing = client.get(reverse("admin:policies_collaborationsettings_changelist"), follow=True).content.decode()
    assert "Mine Co" in listing and "Theirs Co" not in listing  # its one settings page opens directly
    services.collaboration_settings_ensure(tenants=[other])
    other_settings = CollaborationSettings.objects.get(tenant=other)
    assert client.get(reverse("admin:policies_collaborationsettings_change", args=[other_settings.pk])).status_code == 404
    mine = CollaborationSettings.objects.get(tenant=tenant)
    response = client.post(reverse("admin:policies_collaborationsettings_change", args=[mine.pk]), {
        "allow_invites_from": "adminsAndGuestInviters", "guest_user_role_id": GA.RESTRICTED,
        "domain_list_type": "allow", "domains": "partner.example\n*.Contoso.example", "email_otp_enabled": "on",
        "guests_can_leave": "on", "invitation_lifetime_days": "14",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    mine.refresh_from_db()
    assert mine.domains == ["*.contoso.example", "partner.example"]
    assert mine.guest_user_role_id == GA.RESTRICTED
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Update external collaboration settings").exists()


def test_settings_page_shows_a_clear_error_for_a_bad_domain(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant).account)
    services.collaboration_settings_ensure(tenants=[tenant])
    mine = CollaborationSettings.objects.get(tenant=tenant)
    response = client.post(reverse("admin:policies_collaborationsettings_change", args=[mine.pk]), {
        "allow_invites_from": "everyone", "guest_user_role_id": GA.LIMITED, "domain_list_type": "block",
        "domains": "good.example\nbad_domain!", "invitation_lifetime_days": "30",
    })
    assert response.status_code == 200
    assert "is not a valid domain name" in response.content.decode()
    mine.refresh_from_db()
    assert mine.allow_invites_from != "everyone"


def test_only_global_admins_change_collaboration_settings(client):
    tenant = TenantFactory()
    client.force_login(admin_of(tenant, Role.USER_ADMINISTRATOR).account)
    services.collaboration_settings_ensure(tenants=[tenant])
    mine = CollaborationSettings.objects.get(tenant=tenant)
    response = client.post(reverse("admin:policies_collaborationsettings_change", args=[mine.pk]), {
        "allow_invites_from": "everyone", "guest_user_role_id": GA.LIMITED, "domain_list_type": "none"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("level", "sees_directory", "sees_group_members"),
    [(GA.SAME_AS_MEMBERS, True, True), (GA.LIMITED, False, True), (GA.RESTRICTED, False, False)],
)
def test_guest_access_level_limits_what_a_guest_reads(level, sees_directory, sees_group_members):
    tenant = TenantFactory()
    services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={"guest_user_role_id": level})
    guest, colleague, stranger = GuestFactory(tenant=tenant), UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    mine, other = GroupFactory(tenant=tenant), GroupFactory(tenant=tenant)
    mine.members.add(guest, colleague)
    other.members.add(stranger)
    users = set(users_visible_to(guest))
    assert (stranger in users) is sees_directory and guest in users
    assert (other in set(groups_visible_to(guest))) is sees_directory
    assert mine in set(groups_visible_to(guest))
    assert (colleague in set(group_members_visible_to(guest, mine))) is sees_group_members
    assert stranger not in set(group_members_visible_to(guest, other)) or sees_directory


def test_members_see_the_whole_directory_whatever_the_guest_level():
    tenant = TenantFactory()
    services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant, changes={"guest_user_role_id": GA.RESTRICTED})
    member, other = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    assert other in set(users_visible_to(member))
    assert not set(users_visible_to(member)) & set(UserFactory.create_batch(2))
