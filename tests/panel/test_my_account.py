"""My Account (/t/<tenant>/account/): profile, organizations and leaving an organization (Entra's My Account)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from directory import services
from directory.actors import Actor
from directory.models import AuditEvent, OutboxMessage, Role, SignInEvent, Tenant, User
from policies import services as policy_services
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory, admin_of
from tests.panel.contract import PanelPageContract

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def guest_of(tenant: Tenant, account=None, **fields) -> User:
    return GuestFactory(tenant=tenant, account=account or AccountFactory(), external_user_state="Accepted", **fields)


class TestMyAccount(PanelPageContract):
    route = "directory:account"
    # session, account, organizations (with this tenant, the user and its roles); the person's recent
    # sign-ins (branding and the Invite section's settings: per-process copies)
    max_queries = 4

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert 'name="display_name"' in page and 'name="preferred_language"' in page
        assert user.display_name in page or user.display_name.replace("'", "&#x27;") in page
        assert reverse("directory:panel", args=[tenant.slug]) in page  # its organizations, this one included


class TestLeave(PanelPageContract):
    route = "directory:account_leave"
    # session, account, organizations (with roles); a guest's page also reads the tenant's leave setting
    max_queries = 3

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        if user.is_guest:
            assert 'id="leave-form"' in page  # the confirmation: the factory tenants allow leaving
        else:
            assert "home organization" in page and 'id="leave-form"' not in page


# --- profile ---------------------------------------------------------------------------------------


def test_a_person_changes_their_display_name_and_language_and_it_is_audited():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant, display_name="Ann Old")
    client = signed_in(member)
    response = client.post(reverse("directory:account", args=[tenant.slug]),
                           {"display_name": "Ann New", "preferred_language": "de"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.display_name, member.preferred_language) == ("Ann New", "de")
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Update user")
    changes = {p["displayName"]: (p["oldValue"], p["newValue"]) for p in event.target_resources[0]["modifiedProperties"]}
    assert changes == {"display_name": ('"Ann Old"', '"Ann New"'), "preferred_language": ('""', '"de"')}
    assert event.initiated_by["user"]["id"] == str(member.pk)


def test_an_empty_display_name_is_refused_and_nothing_changes():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant, display_name="Ann")
    response = signed_in(member).post(reverse("directory:account", args=[tenant.slug]),
                                      {"display_name": "  ", "preferred_language": ""})
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.display_name == "Ann" and not AuditEvent.objects.filter(activity_display_name="Update user").exists()


def test_only_the_person_changes_their_profile_and_only_what_entra_lets_them():
    tenant = TenantFactory()
    member, other = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    with pytest.raises(PermissionDenied):
        services.user_profile_update(actor=Actor.for_user(other), user=member, changes={"display_name": "X"})
    with pytest.raises(PermissionDenied):  # even an admin uses user_update for someone else
        services.user_profile_update(actor=Actor.for_user(admin_of(tenant)), user=member, changes={"display_name": "X"})
    with pytest.raises(PermissionDenied):
        services.user_profile_update(actor=Actor.for_user(member), user=member, changes={"job_title": "CEO"})
    with pytest.raises(PermissionDenied):
        services.user_profile_update(actor=Actor.system(tenant, "test"), user=member, changes={"display_name": "X"})


# --- organizations and the header switcher ---------------------------------------------------------


def test_organizations_list_home_first_and_every_guest_tenant_with_leave_and_the_header_switches():
    home, zeta = TenantFactory(name="Home Org"), TenantFactory(name="Zeta Partner")
    alpha = TenantFactory(name="Alpha Partner")
    member = UserFactory(tenant=home)
    guest_of(zeta, account=member.account)
    guest_of(alpha, account=member.account)
    page = signed_in(member).get(reverse("directory:account", args=[zeta.slug])).content.decode()
    rows = page[page.index('id="orgs-heading"'):]
    assert rows.index("Home Org") < rows.index("Alpha Partner") < rows.index("Zeta Partner")
    assert reverse("directory:account_leave", args=[home.slug]) not in page  # no Leave for the home organization
    assert reverse("directory:account_leave", args=[zeta.slug]) in page
    assert reverse("directory:account_leave", args=[alpha.slug]) in page
    header = page[page.index('class="topbar"'):page.index("</header>")]
    for tenant in (home, zeta, alpha):
        assert f'href="{reverse("directory:panel", args=[tenant.slug])}"' in header
    assert f'href="{reverse("directory:panel", args=[zeta.slug])}" aria-current="true"' in header


def test_home_page_tiles_link_to_each_organizations_panel():
    home, partner = TenantFactory(), TenantFactory()
    member = UserFactory(tenant=home)
    guest_of(partner, account=member.account)
    page = signed_in(member).get(reverse("home")).content.decode()
    for tenant in (home, partner):
        assert f'<a href="{reverse("directory:panel", args=[tenant.slug])}">' in page


def test_security_info_is_linked_only_where_the_page_exists():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    page = signed_in(member).get(reverse("directory:account", args=[tenant.slug])).content.decode()
    import contextlib

    from django.urls import NoReverseMatch

    urls = []
    for args in ([tenant.slug], []):
        with contextlib.suppress(NoReverseMatch):
            urls.append(reverse("directory:security_info", args=args))
    if urls:
        assert urls[0] in page
    else:  # not built yet: no placeholder either
        assert "Security info" not in page


# --- leaving ---------------------------------------------------------------------------------------


def test_a_guest_leaves_is_soft_deleted_audited_and_the_admins_are_told_in_their_language():
    tenant = TenantFactory(name="Tailwind")
    global_admin = admin_of(tenant)
    user_admin = admin_of(tenant, Role.USER_ADMINISTRATOR)
    User.objects.filter(pk=user_admin.pk).update(preferred_language="de-DE")
    groups_admin = admin_of(tenant, Role.GROUPS_ADMINISTRATOR)  # cannot restore users: not told
    guest = guest_of(tenant, display_name="Gus Guest")
    client = signed_in(guest)
    confirm = client.get(reverse("directory:account_leave", args=[tenant.slug]))
    assert confirm.status_code == 200 and 'id="leave-form"' in confirm.content.decode()
    response = client.post(reverse("directory:account_leave", args=[tenant.slug]))
    assert response.status_code == 302 and response["Location"] == reverse("home")
    guest.refresh_from_db()
    assert guest.deleted_at is not None
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Delete user")
    assert event.initiated_by["user"]["id"] == str(guest.pk)
    assert event.target_resources[0]["id"] == str(guest.pk)
    messages = {m.to[0]: m for m in OutboxMessage.objects.filter(tenant=tenant)}
    assert set(messages) == {global_admin.mail, user_admin.mail}
    assert groups_admin.mail not in messages
    assert messages[global_admin.mail].subject == "Gus Guest left Tailwind"
    assert messages[user_admin.mail].subject == "Gus Guest hat Tailwind verlassen"
    assert "Gus Guest" in messages[user_admin.mail].body_html
    # The panel is closed to them now, and an admin can restore them within 30 days.
    assert client.get(reverse("directory:panel", args=[tenant.slug])).status_code == 403
    services.user_restore(actor=Actor.for_user(global_admin), user=guest)
    guest.refresh_from_db()
    assert guest.deleted_at is None
    assert client.get(reverse("directory:panel", args=[tenant.slug])).status_code == 200


def test_leaving_is_refused_when_the_tenant_switched_it_off():
    tenant = TenantFactory()
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                  changes={"guests_can_leave": False})
    guest = guest_of(tenant)
    client = signed_in(guest)
    page = client.get(reverse("directory:account_leave", args=[tenant.slug])).content.decode()
    assert "does not let external users leave" in page and 'id="leave-form"' not in page
    assert client.post(reverse("directory:account_leave", args=[tenant.slug])).status_code == 400
    guest.refresh_from_db()
    assert guest.deleted_at is None and not OutboxMessage.objects.exists()


def test_leaving_needs_a_privacy_statement():
    tenant = TenantFactory(privacy_statement_url="")
    guest = guest_of(tenant)
    page = signed_in(guest).get(reverse("directory:account_leave", args=[tenant.slug])).content.decode()
    assert "privacy statement" in page and 'id="leave-form"' not in page
    with pytest.raises(ValidationError):
        services.user_leave_organization(actor=Actor.for_user(guest), user=guest)


def test_nobody_leaves_their_home_organization_or_makes_someone_else_leave():
    tenant = TenantFactory()
    member, guest = UserFactory(tenant=tenant), guest_of(tenant)
    with pytest.raises(ValidationError):
        services.user_leave_organization(actor=Actor.for_user(member), user=member)
    assert signed_in(member).post(reverse("directory:account_leave", args=[tenant.slug])).status_code == 400
    with pytest.raises(PermissionDenied):
        services.user_leave_organization(actor=Actor.for_user(admin_of(tenant)), user=guest)
    member.refresh_from_db()
    guest.refresh_from_db()
    assert member.deleted_at is None and guest.deleted_at is None


def test_leaving_one_organization_keeps_the_others():
    home, partner = TenantFactory(), TenantFactory()
    member = UserFactory(tenant=home)
    guest = guest_of(partner, account=member.account)
    client = signed_in(member)
    client.post(reverse("directory:account_leave", args=[partner.slug]))
    guest.refresh_from_db()
    assert guest.deleted_at is not None and guest.deleted_at <= timezone.now()
    page = client.get(reverse("home")).content.decode()
    assert reverse("directory:panel", args=[home.slug]) in page
    assert reverse("directory:panel", args=[partner.slug]) not in page
    assert client.get(reverse("directory:panel", args=[home.slug])).status_code == 200


def test_without_a_registered_leave_rule_nobody_leaves(monkeypatch):
    """The switch is a policy registered by the layer above; until one is, leaving fails closed."""
    from directory import leave

    tenant = TenantFactory()
    guest = guest_of(tenant)
    assert leave.leave_decision(guest).allowed
    monkeypatch.setattr(leave, "_rule", [])
    decision = leave.leave_decision(guest)
    assert not decision.allowed and decision.code == "no_leave_rule"


def test_an_admin_whose_language_we_do_not_write_gets_english():
    tenant = TenantFactory(name="Contoso")
    admin = admin_of(tenant)
    User.objects.filter(pk=admin.pk).update(preferred_language="fr-FR")
    guest = guest_of(tenant, display_name="Gus")
    services.user_leave_organization(actor=Actor.for_user(guest), user=guest)
    assert OutboxMessage.objects.get(tenant=tenant).subject == "Gus left Contoso"


def test_my_account_lists_only_my_own_latest_sign_ins_to_this_tenant():
    tenant, elsewhere = TenantFactory(), TenantFactory()
    me, someone = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    mine_elsewhere = UserFactory(tenant=elsewhere, account=me.account)
    now = timezone.now()
    for n in range(7):
        SignInEvent.objects.create(tenant=tenant, user=me, result="success", ip_address=f"192.0.2.{n + 1}",
                                   created_at=now - timezone.timedelta(minutes=n))
    SignInEvent.objects.create(tenant=tenant, user=me, result="failure", failure_reason="Wrong password.",
                               ip_address="198.51.100.9", created_at=now + timezone.timedelta(minutes=1))
    SignInEvent.objects.create(tenant=tenant, user=someone, result="success", ip_address="203.0.113.77")
    SignInEvent.objects.create(tenant=elsewhere, user=mine_elsewhere, result="success", ip_address="203.0.113.88")
    page = signed_in(me).get(reverse("directory:account", args=[tenant.slug])).content.decode()
    assert page.count('class="sign-in"') == 5  # the latest five
    assert page.index("198.51.100.9") < page.index("192.0.2.1")  # newest first
    assert "Wrong password." in page
    assert "192.0.2.7" not in page  # older than the five
    assert "203.0.113.77" not in page and "203.0.113.88" not in page  # someone else's; another tenant's


def test_my_account_says_when_no_sign_in_is_recorded():
    tenant = TenantFactory()
    page = signed_in(UserFactory(tenant=tenant)).get(reverse("directory:account", args=[tenant.slug])).content
    assert b"No sign-ins to this organization are recorded yet." in page


# --- sponsors --------------------------------------------------------------------------------------


def test_a_guest_sees_their_sponsors_name_and_mail_and_not_a_deleted_one():
    tenant = TenantFactory()
    sponsor, gone = UserFactory(tenant=tenant, display_name="Ada Sponsor"), UserFactory(tenant=tenant,
                                                                                        display_name="Gone Sponsor")
    guest = guest_of(tenant)
    guest.sponsors.add(sponsor, gone)
    User.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    page = signed_in(guest).get(reverse("directory:account", args=[tenant.slug])).content.decode()
    assert 'id="sponsors"' in page and "Ada Sponsor" in page and f"mailto:{sponsor.mail}" in page
    assert "Gone Sponsor" not in page


def test_a_guest_without_sponsors_is_told_so_and_a_member_sees_no_sponsor_section():
    tenant = TenantFactory()
    guest = guest_of(tenant)
    page = signed_in(guest).get(reverse("directory:account", args=[tenant.slug])).content.decode()
    assert "You have no sponsor in this organization." in page
    member = UserFactory(tenant=tenant)
    assert 'id="sponsors"' not in signed_in(member).get(reverse("directory:account", args=[tenant.slug])).content.decode()


def test_a_guests_my_account_stays_within_the_budget_plus_its_sponsors_query(django_assert_max_num_queries):
    tenant = TenantFactory()
    guest = guest_of(tenant)
    guest.sponsors.add(*[UserFactory(tenant=tenant) for _ in range(5)])
    client = signed_in(guest)
    client.get(reverse("directory:panel", args=[tenant.slug]))
    with django_assert_max_num_queries(TestMyAccount.max_queries + 2):  # a guest's entry rule, its sponsors
        assert client.get(reverse("directory:account", args=[tenant.slug])).status_code == 200
