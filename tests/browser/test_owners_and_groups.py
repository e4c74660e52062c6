"""Owners and members in the access panel, in a real browser (issue 11's "Done when"):

- an app owner invites a guest into their app from the app's owners' page, and the guest, after redeeming,
  sees that app;
- a member asks to join a group that needs approval and an owner approves it from the panel;
- a member allowed by ``allowInvitesFrom`` invites a guest from "Invite someone", while a member who is not
  allowed sees no invite page.
"""

import re

import pytest
from playwright.sync_api import expect

from directory.actors import Actor
from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import Group, OutboxMessage, Tenant, User
from policies import services as policy_services
from policies.models import CollaborationSettings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TW = "tailwindtraders.example"
GUEST = "erin@contoso.example"


def _text_of(mail) -> str:
    message = mail.message if hasattr(mail, "message") else mail
    return message.get_body(preferencelist=("plain",)).get_content()


def sign_in(page, email: str, next_url: str) -> None:
    """A member signs in with its password (allauth's page) and lands on ``next_url``."""
    page.goto(f"/accounts/login/?next={next_url}")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(re.escape(next_url) + "$"))


def test_an_app_owner_invites_a_guest_into_the_app_and_the_guest_sees_it(browser_page, new_context, live_server,
                                                                          smtp_sink, settings):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_sink.port, 5
    seed_demo()
    tailwind = Tenant.objects.get(slug="tailwind")
    app = tailwind.applications.get(display_name="Expense Reports")  # Lee Gu owns every demo app

    owner = browser_page
    manage = f"/t/tailwind/apps/{app.pk}/manage/"
    sign_in(owner, f"lee@{TW}", manage)
    expect(owner.get_by_role("heading", level=1)).to_have_text("Expense Reports")
    owner.locator("#invite-email").fill(GUEST)
    owner.locator("#invite-name").fill("Erin Contoso")
    owner.get_by_role("button", name="Invite", exact=True).click()
    expect(owner).to_have_url(re.compile(re.escape(manage) + "$"))
    expect(owner.locator(".messages")).to_contain_text(f"{GUEST} was invited into Expense Reports")
    expect(owner.locator("ul.members")).to_contain_text("Erin Contoso")

    [mail] = smtp_sink.wait_for(1, where=lambda m: GUEST in str((m.message if hasattr(m, "message") else m)["To"]))
    body = _text_of(mail)
    assert "Expense Reports" in body
    link = re.search(r"(http://\S+/t/tailwind/invitations/\S+/)", body).group(1)

    guest = new_context(base_url=live_server.url).new_page()
    guest.goto(link)
    guest.get_by_role("button", name="Accept invitation").click()
    code_mail = smtp_sink.wait_for(2)[-1]
    code = re.search(r"^\s*([A-Z0-9]{3}-?[A-Z0-9]{3})\s*$", _text_of(code_mail), re.MULTILINE).group(1)
    guest.locator("input[name=code]").fill(code)
    guest.locator("form").filter(has=guest.locator("input[name=code]")).locator("button[type=submit]").first.click()
    guest.get_by_role("button", name="Accept").click()
    expect(guest).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(guest.locator(".tile.app")).to_contain_text(["Expense Reports"])
    expect(guest.locator(".tile.app")).to_have_count(1)


def test_a_group_owner_approves_a_join_request_from_the_panel(browser_page, new_context, live_server):
    seed_demo()
    tailwind = Tenant.objects.get(slug="tailwind")
    tailwind.owners_manage_join_requests = True
    tailwind.save()
    Group.objects.filter(tenant=tailwind, display_name="Finance").update(members_can_join=True,
                                                                        join_requires_approval=True)

    member = browser_page
    sign_in(member, f"megan@{TW}", "/t/tailwind/groups/")
    joinable = member.locator("ul.joinable li", has_text="Finance")
    joinable.locator("input[name=justification]").fill("I approve marketing expenses")
    joinable.get_by_role("button", name="Request to join").click()
    expect(member.locator(".messages")).to_contain_text("sent to its owners")
    expect(member.locator("ul.joinable li", has_text="Finance")).to_contain_text("Request sent")
    lee = User.objects.get(tenant=tailwind, user_principal_name=f"lee@{TW}")
    assert OutboxMessage.objects.filter(to=[lee.mail], subject__contains="asks to join Finance").exists()

    owner = new_context(base_url=live_server.url).new_page()
    sign_in(owner, f"lee@{TW}", "/t/tailwind/groups/")
    owner.get_by_role("link", name=re.compile("request waits for your decision")).click()
    request = owner.locator("li.request", has_text="Megan Bowen")
    expect(request).to_contain_text("I approve marketing expenses")
    request.get_by_role("button", name="Approve").click()
    expect(owner.locator(".messages")).to_contain_text("Approved: Megan Bowen → Finance")

    member.reload()
    expect(member.locator("ul.member li", has_text="Finance")).to_be_visible()
    megan = User.objects.get(tenant=tailwind, user_principal_name=f"megan@{TW}")
    assert OutboxMessage.objects.filter(to=[megan.mail], subject__contains="was approved").exists()


def test_a_member_allowed_by_policy_invites_and_one_not_allowed_sees_no_invite_page(browser_page, new_context,
                                                                                     live_server):
    seed_demo()
    tailwind = Tenant.objects.get(slug="tailwind")
    # Only admins and Guest Inviters: Lee Gu holds the Guest Inviter role, Megan Bowen holds no role.
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tailwind,
        changes={"allow_invites_from": CollaborationSettings.AllowInvitesFrom.ADMINS_AND_GUEST_INVITERS})

    inviter = browser_page
    sign_in(inviter, f"lee@{TW}", "/t/tailwind/")
    inviter.get_by_role("link", name="Invite someone").click()
    expect(inviter).to_have_url(re.compile(r"/t/tailwind/invite/$"))
    inviter.locator("#email").fill(GUEST)
    inviter.get_by_label(re.compile("Group: Partner Projects")).check()
    inviter.get_by_role("button", name="Invite").click()
    expect(inviter.locator(".messages")).to_contain_text(f"{GUEST} was invited into Partner Projects")
    invited = User.objects.get(tenant=tailwind, mail=GUEST)
    assert invited.member_of.filter(display_name="Partner Projects").exists()

    member = new_context(base_url=live_server.url).new_page()
    sign_in(member, f"megan@{TW}", "/t/tailwind/")
    expect(member.locator(".panel-nav")).to_contain_text("My apps")
    expect(member.get_by_role("link", name="Invite someone")).to_have_count(0)
    response = member.goto("/t/tailwind/invite/")
    assert response.status == 404
