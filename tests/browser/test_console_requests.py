"""An administrator decides a self-service request from the admin console, in a real browser (issue 11):
the pending list, the request's page, a justification, Approve — and the requester is in the group and
hears of it."""

import re

import pytest
from playwright.sync_api import expect

from directory import services
from directory.actors import Actor
from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import Group, OutboxMessage, SelfServiceRequest, Tenant, User
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TW = "tailwindtraders.example"


def test_a_user_administrator_approves_a_join_request_with_a_justification(browser_page):
    seed_demo()
    tailwind = Tenant.objects.get(slug="tailwind")
    tailwind.owners_manage_join_requests = True
    tailwind.save()
    finance = Group.objects.get(tenant=tailwind, display_name="Finance")
    finance.members_can_join, finance.join_requires_approval = True, True
    finance.save()
    megan = User.objects.get(tenant=tailwind, user_principal_name=f"megan@{TW}")
    services.group_join(actor=Actor.for_user(megan), group=finance, justification="Quarter close")

    page = browser_page
    sign_in_to_admin(page, f"adele@{TW}", DEMO_PASSWORD)  # User Administrator
    page.goto("/admin/directory/selfservicerequest/")
    row = page.locator("#result_list tbody tr", has_text="Megan Bowen")
    expect(row).to_contain_text("Finance")
    expect(row).to_contain_text("Quarter close")
    row.locator("a").first.click()
    page.locator("#decision-note").fill("Welcome to Finance")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/directory/selfservicerequest/$"))
    expect(page.locator(".messagelist")).to_contain_text("1 request approved.")
    expect(page.locator("#result_list tbody tr", has_text="Megan Bowen")).to_have_count(0)  # no longer pending

    found = SelfServiceRequest.objects.get(requester=megan)
    assert found.status == SelfServiceRequest.Status.APPROVED and found.decision_note == "Welcome to Finance"
    assert finance.members.filter(pk=megan.pk).exists()
    assert OutboxMessage.objects.filter(to=[megan.mail], subject__contains="was approved").exists()
