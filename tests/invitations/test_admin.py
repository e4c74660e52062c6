"""The invitation pages of the admin console: tenant isolation, the single invite form with precise errors
and nothing half-written, resend / revoke / reset redemption through the services, a constant-query list."""

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from directory.actors import Actor
from directory.models import Account, AuditEvent, OutboxMessage, Role, User
from invitations import bulk
from invitations.models import BulkInvitationJob, Invitation
from invitations.services import invitation_create
from policies import services as policy_services
from tests.factories import ApplicationFactory, GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

ADD_URL = "admin:invitations_invitation_add"
LIST_URL = "admin:invitations_invitation_changelist"


@pytest.fixture
def home():
    return TenantFactory(name="Home Co", slug="home", initial_domain="home.example")


@pytest.fixture
def other():
    return TenantFactory(name="Other Co", slug="other", initial_domain="other.example")


@pytest.fixture
def home_admin(home):
    return admin_of(home)


@pytest.fixture
def admin_client(client, home_admin):
    client.force_login(home_admin.account)
    return client


def invite(tenant, email, actor=None, **kwargs):
    kwargs.setdefault("redirect_url", "https://apps.example/")
    return invitation_create(actor=actor or Actor.operator(), tenant=tenant, email=email, **kwargs)


def invite_form(tenant, **overrides):
    data = {
        "tenant": str(tenant.pk), "email": "ann@partner.example", "display_name": "Ann Partner", "redirect_url": "",
        "user_type": "Guest", "send_message": "on", "message_body": "", "message_language": "en",
        "cc_recipients": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def nothing_written():
    return (Invitation.objects.count(), User.objects.guests().count(), AuditEvent.objects.count(),
            OutboxMessage.objects.count())


# --- tenant isolation ------------------------------------------------------------------------------


def test_invitation_list_shows_only_the_admins_tenants(admin_client, home, other):
    invite(home, "mine@partner.example", display_name="Mine Visible")
    invite(other, "theirs@partner.example", display_name="Theirs Secret")
    body = admin_client.get(reverse(LIST_URL)).content.decode()
    assert "mine@partner.example" in body
    assert "theirs@partner.example" not in body and "Other Co" not in body


def test_another_tenants_invitation_pages_are_404_like_missing_ones(admin_client, other):
    theirs = invite(other, "theirs@partner.example").invitation
    for name in ("change", "history", "reset_redemption"):
        assert admin_client.get(reverse(f"admin:invitations_invitation_{name}", args=[theirs.pk])).status_code == 404
    assert admin_client.post(reverse("admin:invitations_invitation_reset_redemption", args=[theirs.pk]), {
        "email": "theirs@partner.example", "redirect_url": "https://apps.example/", "message_language": "en",
    }).status_code == 404
    assert admin_client.get(reverse("admin:invitations_invitation_change", args=[uuid.uuid4()])).status_code == 404


def test_actions_cannot_touch_another_tenants_invitations(admin_client, home, other):
    theirs = invite(other, "theirs@partner.example").invitation
    mine = invite(home, "mine@partner.example").invitation
    admin_client.post(reverse(LIST_URL), {"action": "revoke_selected", "confirm": "yes",
                                          "_selected_action": [str(theirs.pk), str(mine.pk)]})
    assert Invitation.objects.get(pk=theirs.pk).status == "PendingAcceptance"
    assert Invitation.objects.get(pk=mine.pk).status == "Revoked"


def test_another_tenants_bulk_job_pages_progress_and_results_are_404(admin_client, other):
    theirs = bulk.bulk_invitation_job_create(actor=Actor.operator(), tenant=other, file_name="theirs.csv",
                                             source="email\r\nx@partner.example\r\n", enqueue=False)
    bulk.bulk_invitation_job_process(job_id=theirs.pk)
    for name in ("change", "progress", "results"):
        url = reverse(f"admin:invitations_bulkinvitationjob_{name}", args=[theirs.pk])
        assert admin_client.get(url).status_code == 404, name
    assert "theirs.csv" not in admin_client.get(reverse("admin:invitations_bulkinvitationjob_changelist")).content.decode()
    missing = reverse("admin:invitations_bulkinvitationjob_results", args=[uuid.uuid4()])
    assert admin_client.get(missing).status_code == 404


def test_bulk_upload_cannot_target_another_tenant(admin_client, other):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = admin_client.post(reverse("admin:invitations_bulkinvitationjob_add"), {
        "tenant": str(other.pk), "csv_file": SimpleUploadedFile("x.csv", b"email\r\nx@partner.example\r\n")})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not BulkInvitationJob.objects.exists()


# --- the list ----------------------------------------------------------------------------------


def test_invitation_list_is_constant_query_with_a_thousand_invitations(admin_client, home, other, home_admin,
                                                                        django_assert_max_num_queries):
    now = timezone.now()
    for tenant in (home, other):
        users = User.objects.bulk_create(
            User(tenant=tenant, user_type="Guest", display_name=f"G{i}", mail=f"g{i}@partner.example",
                 user_principal_name=f"g{i}_partner.example#EXT#@{tenant.initial_domain}",
                 external_user_state="PendingAcceptance", creation_type="Invitation") for i in range(1100))
        Invitation.objects.bulk_create(
            Invitation(tenant=tenant, invited_user=u, invited_email=u.mail, redirect_url="https://apps.example/",
                       token_hash=uuid.uuid4().hex + uuid.uuid4().hex, invited_by=home_admin if tenant == home else None,
                       last_sent_at=now, expires_at=now + timedelta(days=30),
                       status="Completed" if i % 4 == 0 else "PendingAcceptance", redeemed_at=now if i % 4 == 0 else None)
            for i, u in enumerate(users))
    pages = {}
    for query in ("", "?status__exact=Completed", "?q=g10@partner", "?p=5", "?o=3"):
        with django_assert_max_num_queries(12):
            response = admin_client.get(reverse(LIST_URL) + query)
        assert response.status_code == 200
        pages[query] = response.content.decode()
    assert "1100 invitations" in pages[""]
    assert pages[""].count('name="_selected_action"') == 100
    assert home_admin.display_name in pages[""]
    assert "275 invitations" in pages["?status__exact=Completed"]
    assert "g10@partner.example" in pages["?q=g10@partner"]


def test_invitation_list_filters_by_status_and_searches_by_email(admin_client, home):
    invite(home, "pending@partner.example")
    revoked = invite(home, "gone@partner.example").invitation
    Invitation.objects.filter(pk=revoked.pk).update(status="Revoked")
    body = admin_client.get(reverse(LIST_URL) + "?status__exact=Revoked").content.decode()
    assert "gone@partner.example" in body and "pending@partner.example" not in body
    body = admin_client.get(reverse(LIST_URL) + "?q=PENDING@partner").content.decode()
    assert "pending@partner.example" in body and "gone@partner.example" not in body


def test_invitations_are_view_only_and_cannot_be_deleted(admin_client, home):
    invitation = invite(home, "ann@partner.example").invitation
    change = reverse("admin:invitations_invitation_change", args=[invitation.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.post(change, {"invited_email": "evil@x.example"}).status_code == 403
    delete = reverse("admin:invitations_invitation_delete", args=[invitation.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Invitation.objects.get(pk=invitation.pk).invited_email == "ann@partner.example"
    assert "delete_selected" not in admin_client.get(reverse(LIST_URL)).content.decode()


# --- the invite form ---------------------------------------------------------------------------


def test_invite_form_defaults_to_the_access_panel_and_sending(admin_client, home):
    body = admin_client.get(reverse(ADD_URL)).content.decode()
    assert 'value="http://testserver/t/home/"' in body
    assert 'id="id_send_message" checked' in body
    assert "Invite external user" in body
    assert "admin/js/autocomplete.js" in body  # groups and applications are chosen by autocomplete


def test_admin_invites_a_guest_with_groups_and_apps_and_sees_the_redeem_url(admin_client, home, home_admin,
                                                                            django_capture_on_commit_callbacks):
    group, app = GroupFactory(tenant=home), ApplicationFactory(tenant=home)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(reverse(ADD_URL), invite_form(
            home, groups=[str(group.pk)], applications=[str(app.pk)], message_body="See you <b>soon</b>",
            cc_recipients="boss@partner.example", message_language="de"), follow=True)
    invitation = Invitation.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:invitations_invitation_change", args=[invitation.pk])
    [message] = messages_of(response)
    assert "Invitation created for ann@partner.example. The invitation e-mail is on its way." in message
    assert "<code>http://testserver/t/home/invitations/" in response.content.decode()
    assert invitation.redirect_url == "http://testserver/t/home/"
    assert invitation.invited_by == home_admin and invitation.message_language == "de"
    assert list(invitation.groups.all()) == [group] and list(invitation.applications.all()) == [app]
    assert invitation.cc_recipients == ["boss@partner.example"]
    outbox = OutboxMessage.objects.get()
    assert outbox.to == ["ann@partner.example"] and outbox.cc == ["boss@partner.example"]


def test_invite_without_sending_shows_the_link_to_share(admin_client, home):
    response = admin_client.post(reverse(ADD_URL), invite_form(home, send_message=None), follow=True)
    [message] = messages_of(response)
    assert "No e-mail was sent." in message and "http://testserver/t/home/invitations/" in message
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-address"}, "email", "is not a valid e-mail address"),
        ({"email": "ann;x@partner.example"}, "email", "may not contain ;"),
        ({"email": ""}, "email", "This field is required."),
        ({"email": "bob@blocked.example"}, "email", "Invitations to blocked.example are blocked by this organization."),
        ({"email": "colleague@home.example"}, "email", "is in this organization's own domain"),
        ({"redirect_url": "javascript:alert(1)"}, "redirect_url", "must start with https://"),
        ({"redirect_url": "https://user:pw@evil.example/"}, "redirect_url", "may not contain a user name or password"),
        ({"message_body": "x" * 10_001}, "message_body", "longer than 10,000 characters"),
        ({"cc_recipients": "not an address"}, "cc_recipients", "not a valid e-mail address"),
    ],
)
def test_bad_invite_input_shows_a_precise_error_next_to_the_field_and_writes_nothing(admin_client, home, overrides,
                                                                                    field, message):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=home, changes={
        "domain_list_type": "block", "domains": ["blocked.example"]})
    before = nothing_written()
    response = admin_client.post(reverse(ADD_URL), invite_form(home, **overrides))
    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert nothing_written() == before


def test_granting_another_tenants_group_is_refused(client, home, other):
    # A superuser's form offers every tenant's groups: the service still refuses to cross tenants.
    client.force_login(Account.objects.create_superuser("root@platform.example", "x-Long-password-1"))
    foreign = GroupFactory(tenant=other, display_name="Foreign Group")
    before = nothing_written()
    response = client.post(reverse(ADD_URL), invite_form(home, groups=[str(foreign.pk)]))
    assert "“Foreign Group” is not in this tenant." in response.context["form"].errors["groups"][0]
    assert nothing_written() == before


def test_an_admin_cannot_invite_into_a_tenant_they_do_not_manage(admin_client, other):
    response = admin_client.post(reverse(ADD_URL), invite_form(other))
    assert "Select a valid choice" in response.context["form"].errors["tenant"][0]
    assert not Invitation.objects.exists()


def test_a_guest_inviter_can_invite(client, home):
    inviter = admin_of(home, Role.GUEST_INVITER)
    client.force_login(inviter.account)
    response = client.post(reverse(ADD_URL), invite_form(home), follow=True)
    assert response.status_code == 200
    invitation = Invitation.objects.get()
    assert invitation.invited_by == inviter
    assert list(invitation.invited_user.sponsors.all()) == [inviter]


def test_a_guest_inviter_may_not_invite_external_members(client, home):
    client.force_login(admin_of(home, Role.GUEST_INVITER).account)
    response = client.post(reverse(ADD_URL), invite_form(home, user_type="Member"))
    assert response.context["form"].non_field_errors() == ["Only administrators may invite external members."]
    assert not Invitation.objects.exists()


def test_a_member_without_a_role_cannot_reach_the_invite_pages(client, home):
    member = UserFactory(tenant=home)
    client.force_login(member.account)  # not staff: the admin sends them to its login page
    response = client.get(reverse(ADD_URL))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    Account.objects.filter(pk=member.account_id).update(is_staff=True)  # staff, but no role
    client.force_login(Account.objects.get(pk=member.account_id))
    assert client.get(reverse(ADD_URL)).status_code == 403
    assert client.get(reverse(LIST_URL)).status_code == 403
    assert client.post(reverse(ADD_URL), invite_form(home)).status_code == 403
    assert client.get(reverse("admin:invitations_bulkinvitationjob_add")).status_code == 403
    assert not Invitation.objects.exists()


def test_a_reader_role_sees_invitations_but_cannot_invite_or_act(client, home):
    invitation = invite(home, "ann@partner.example").invitation
    client.force_login(admin_of(home, Role.SECURITY_ADMINISTRATOR).account)
    assert client.get(reverse(LIST_URL)).status_code == 200
    assert client.get(reverse(ADD_URL)).status_code == 403
    client.post(reverse(LIST_URL), {"action": "revoke_selected", "confirm": "yes", "_selected_action": [str(invitation.pk)]})
    assert Invitation.objects.get(pk=invitation.pk).status == "PendingAcceptance"
    assert client.get(reverse("admin:invitations_invitation_reset_redemption",
                              args=[invitation.pk])).status_code == 403


def test_policy_none_blocks_the_invite_with_a_clear_message(admin_client, home):
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=home, changes={"allow_invites_from": "none"})
    before = nothing_written()
    response = admin_client.post(reverse(ADD_URL), invite_form(home))
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "This organization does not allow anyone to invite guests."]
    assert "This organization does not allow anyone to invite guests." in response.content.decode()
    assert nothing_written() == before


# --- resend, revoke --------------------------------------------------------------------------------


def test_resend_right_after_sending_shows_the_rate_limit_and_sends_nothing(admin_client, home, home_admin):
    invitation = invite(home, "ann@partner.example", actor=Actor.for_user(home_admin), send_message=True).invitation
    response = admin_client.post(reverse(LIST_URL), {"action": "resend_selected",
                                                     "_selected_action": [str(invitation.pk)]}, follow=True)
    [message] = messages_of(response)
    assert message.startswith("ann@partner.example: This invitation was just sent. Try again in ")
    assert OutboxMessage.objects.count() == 1


def test_resend_after_the_interval_sends_a_new_link(admin_client, home, home_admin):
    invitation = invite(home, "ann@partner.example", actor=Actor.for_user(home_admin), send_message=True).invitation
    Invitation.objects.filter(pk=invitation.pk).update(last_sent_at=timezone.now() - timedelta(minutes=5))
    old_hash = invitation.token_hash
    response = admin_client.post(reverse(LIST_URL), {"action": "resend_selected",
                                                     "_selected_action": [str(invitation.pk)]}, follow=True)
    assert messages_of(response) == ["1 invitation sent again."]
    assert Invitation.objects.get(pk=invitation.pk).token_hash != old_hash
    assert OutboxMessage.objects.count() == 2


def test_revoke_withdraws_a_pending_invitation_and_says_why_others_are_skipped(admin_client, home):
    pending = invite(home, "ann@partner.example").invitation
    done = invite(home, "bob@partner.example").invitation
    Invitation.objects.filter(pk=done.pk).update(status="Completed")
    response = admin_client.post(reverse(LIST_URL), {
        "action": "revoke_selected", "confirm": "yes", "_selected_action": [str(pending.pk), str(done.pk)]}, follow=True)
    assert Invitation.objects.get(pk=pending.pk).status == "Revoked"
    assert "bob@partner.example: Only pending invitations can be revoked." in messages_of(response)
    assert "1 invitation revoked." in messages_of(response)
    assert AuditEvent.objects.filter(activity_display_name="Revoke external user invite").count() == 1


def test_view_page_offers_resend_revoke_and_reset_to_managers(admin_client, home):
    invitation = invite(home, "ann@partner.example").invitation
    body = admin_client.get(reverse("admin:invitations_invitation_change", args=[invitation.pk])).content.decode()
    assert 'value="resend_selected"' in body and 'value="revoke_selected"' in body
    assert reverse("admin:invitations_invitation_reset_redemption", args=[invitation.pk]) in body


# --- reset redemption ------------------------------------------------------------------------------


@pytest.fixture
def redeemed(home, home_admin):
    guest = GuestFactory(tenant=home, mail="ann@partner.example", other_mails=["ann@new-partner.example"],
                         external_user_state="Accepted", account=UserFactory(tenant=TenantFactory()).account)
    invitation = Invitation.objects.create(
        tenant=home, invited_user=guest, invited_email=guest.mail, redirect_url="https://apps.example/",
        token_hash=uuid.uuid4().hex * 2, status="Completed", invited_by=home_admin)
    return invitation


def test_reset_redemption_page_asks_for_a_known_address_and_redirect(admin_client, redeemed):
    response = admin_client.get(reverse("admin:invitations_invitation_reset_redemption", args=[redeemed.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<code>ann@partner.example</code>, <code>ann@new-partner.example</code>" in body
    assert 'value="https://apps.example/"' in body


def test_reset_redemption_with_an_unknown_address_is_refused_and_changes_nothing(admin_client, redeemed):
    guest = redeemed.invited_user
    before = nothing_written()
    response = admin_client.post(reverse("admin:invitations_invitation_reset_redemption", args=[redeemed.pk]), {
        "email": "stranger@partner.example", "redirect_url": "https://apps.example/", "message_language": "en",
        "send_message": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "The new address must already be the user's mail or one of its other mails."]
    guest.refresh_from_db()
    assert guest.external_user_state == "Accepted" and guest.account_id is not None
    assert nothing_written() == before


def test_reset_redemption_with_a_bad_redirect_is_refused(admin_client, redeemed):
    response = admin_client.post(reverse("admin:invitations_invitation_reset_redemption", args=[redeemed.pk]), {
        "email": "ann@partner.example", "redirect_url": "javascript:alert(1)", "message_language": "en"})
    assert "must start with https://" in response.context["form"].errors["redirect_url"][0]
    assert Invitation.objects.count() == 1


def test_reset_redemption_re_invites_the_same_user_with_a_new_link(admin_client, redeemed):
    guest = redeemed.invited_user
    response = admin_client.post(reverse("admin:invitations_invitation_reset_redemption", args=[redeemed.pk]), {
        "email": "ann@new-partner.example", "redirect_url": "https://apps.example/next", "message_language": "de",
        "send_message": "on"}, follow=True)
    new = Invitation.objects.exclude(pk=redeemed.pk).get()
    assert response.redirect_chain[-1][0] == reverse("admin:invitations_invitation_change", args=[new.pk])
    [message] = messages_of(response)
    assert "The redemption of ann@new-partner.example was reset" in message
    assert "http://testserver/t/home/invitations/" in message
    guest.refresh_from_db()
    assert (guest.mail, guest.account_id, guest.external_user_state) == (
        "ann@new-partner.example", None, "PendingAcceptance")
    assert new.invited_user_id == guest.pk and new.status == "PendingAcceptance"
    assert OutboxMessage.objects.get().to == ["ann@new-partner.example"]


def test_a_guest_inviter_may_not_reset_a_redemption(client, home, redeemed):
    client.force_login(admin_of(home, Role.GUEST_INVITER).account)
    response = client.post(reverse("admin:invitations_invitation_reset_redemption", args=[redeemed.pk]), {
        "email": "ann@partner.example", "redirect_url": "https://apps.example/", "message_language": "en"})
    assert response.context["form"].non_field_errors() == ["Only administrators may reset a redemption."]
    assert Invitation.objects.count() == 1


def test_reset_redemption_action_needs_exactly_one_invitation(admin_client, home, redeemed):
    second = invite(home, "bob@partner.example").invitation
    response = admin_client.post(reverse(LIST_URL), {
        "action": "reset_redemption", "_selected_action": [str(redeemed.pk), str(second.pk)]}, follow=True)
    assert messages_of(response) == ["Select exactly one invitation to reset its guest's redemption."]
    response = admin_client.post(reverse(LIST_URL), {
        "action": "reset_redemption", "_selected_action": [str(redeemed.pk)]})
    assert response["Location"] == reverse("admin:invitations_invitation_reset_redemption", args=[redeemed.pk])


def test_group_autocomplete_of_the_invite_form_offers_only_the_admins_tenants_groups(admin_client, home, other):
    GroupFactory(tenant=home, display_name="Partners Home")
    GroupFactory(tenant=other, display_name="Partners Other")
    response = admin_client.get(reverse("admin:autocomplete"), {
        "app_label": "invitations", "model_name": "invitation", "field_name": "groups", "term": "Partners"})
    assert [r["text"] for r in response.json()["results"]] == ["Partners Home"]


def test_downloading_bulk_results_with_links_is_audited_once_per_download(admin_client, home, home_admin):
    job = bulk.bulk_invitation_job_create(
        actor=Actor.for_user(home_admin), tenant=home, file_name="guests.csv", enqueue=False,
        source="email,send message\r\nann@partner.example,false\r\nbob@partner.example,false\r\n"
               "cid@partner.example,true\r\nnot-an-address,false\r\n")
    bulk.bulk_invitation_job_process(job_id=job.pk)
    url = reverse("admin:invitations_bulkinvitationjob_results", args=[job.pk])

    for _ in range(2):
        download = admin_client.get(url)
        assert download.status_code == 200 and "/t/home/invitations/" in download.content.decode()
        mailed = [line for line in download.content.decode().splitlines() if "cid@partner.example" in line]
        assert "/invitations/" not in mailed[0]  # a link that went out by e-mail is not kept in the results

    reads = AuditEvent.objects.filter(tenant=home, activity_display_name="Read invite redeem URL")
    assert reads.count() == 2
    details = {d["key"]: d["value"] for d in reads.first().additional_details}
    assert details == {"bulkInvitationJobId": str(job.pk), "redeemUrls": "2", "interface": "Admin console"}
    assert reads.first().initiated_by_account == home_admin.account


def test_revoke_asks_first_and_then_returns_to_the_invitations_page(admin_client, home):
    invitation = invite(home, "ann@partner.example").invitation
    page = reverse("admin:invitations_invitation_change", args=[invitation.pk])
    asked = admin_client.post(reverse(LIST_URL), {"action": "revoke_selected", "next": page,
                                                  "_selected_action": [str(invitation.pk)]})
    body = asked.content.decode()
    assert asked.status_code == 200 and "cannot be undone" in body and "ann@partner.example" in body
    assert f'name="next" value="{page}"' in body
    assert Invitation.objects.get(pk=invitation.pk).status == "PendingAcceptance"
    done = admin_client.post(reverse(LIST_URL), {"action": "revoke_selected", "confirm": "yes", "next": page,
                                                 "_selected_action": [str(invitation.pk)]})
    assert done.status_code == 302 and done["Location"] == page
    assert Invitation.objects.get(pk=invitation.pk).status == "Revoked"


def test_revoke_never_returns_to_another_site(admin_client, home):
    invitation = invite(home, "ann@partner.example").invitation
    done = admin_client.post(reverse(LIST_URL), {"action": "revoke_selected", "confirm": "yes",
                                                 "next": "https://evil.example/", "_selected_action": [str(invitation.pk)]})
    assert done["Location"].startswith("/admin/invitations/invitation/")


def test_invitation_page_links_to_its_message_and_shows_cc_as_a_list(admin_client, home):
    invitation = invite(home, "ann@partner.example", send_message=True, cc_recipients=["boss@partner.example"]).invitation
    message = OutboxMessage.objects.get(dedupe_key__startswith=f"invitation:{invitation.pk}:")
    body = admin_client.get(reverse("admin:invitations_invitation_change", args=[invitation.pk])).content.decode()
    assert reverse("admin:directory_outboxmessage_change", args=[message.pk]) in body
    assert '<li class="wrap">boss@partner.example</li>' in body
    assert '["boss@partner.example"]' not in body


@pytest.mark.parametrize(("field", "factory"), [("groups", GroupFactory), ("applications", ApplicationFactory)])
def test_invite_pickers_offer_name_matches_before_description_matches(admin_client, home, field, factory):
    factory(tenant=home, display_name="Expense Reports", description="Procurement and travel")
    factory(tenant=home, display_name="Sales Pro Tools", description="")
    factory(tenant=home, display_name="Project Falcon", description="")
    response = admin_client.get(reverse("admin:autocomplete"), {
        "term": "Pro", "app_label": "invitations", "model_name": "invitation", "field_name": field})
    assert [r["text"] for r in response.json()["results"]] == ["Project Falcon", "Sales Pro Tools", "Expense Reports"]
