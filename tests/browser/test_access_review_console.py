"""An access review's instance page in the admin console, in Chromium: the doughnut is drawn by the
vendored Chart.js under the CSP (no inline script), its table beside it says the same, Stop ends the
review, and the page fits a phone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from directory.actors import Actor
from entitlements import services
from entitlements.models import AccessReviewDecision, AccessReviewInstance
from tests.factories import PASSWORD, GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_instance_shows_its_progress_as_a_chart_and_a_table_and_stops(browser_page, screenshot):
    tenant = TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")
    admin = admin_of(tenant)
    owner = UserFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant, display_name="Project Falcon")
    group.owners.add(owner)
    guests = [GuestFactory(tenant=tenant, display_name=f"Guest {i}", created_at=timezone.now() - timedelta(days=60))
              for i in range(4)]
    group.members.add(*guests)
    services.review_definition_create(actor=Actor.operator(), tenant=tenant, display_name="Falcon guests",
                                      scope_kind="group", group=group, guests_only=True,
                                      start_at=timezone.now() - timedelta(minutes=1))
    services.access_reviews_sweep(actor=Actor.system(None, "tests"))
    instance = AccessReviewInstance.objects.get()
    services.review_decisions_record(actor=Actor.for_user(owner), decisions=[
        AccessReviewDecision.objects.get(principal=guests[0])], decision="Deny")

    page = browser_page
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in_to_admin(page, admin.account.email, PASSWORD)
    page.goto(f"/admin/entitlements/accessreviewinstance/{instance.pk}/change/")
    canvas = page.locator("#access-review-chart")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('access-review-chart'))")
    assert page.evaluate("Chart.getChart(document.getElementById('access-review-chart')).data.datasets[0].data") \
        == [0, 1, 0, 3]
    table = page.locator("#access-review-table")
    expect(table.get_by_role("row", name="Denied")).to_contain_text("1")
    expect(table.get_by_role("row", name="Not reviewed")).to_contain_text("3")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    screenshot(page, "access-review-instance-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "access-review-instance-phone")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator(".messagelist")).to_contain_text("The review was stopped.")
    instance.refresh_from_db()
    assert instance.status == "Completed"
    expect(page.get_by_role("button", name="Apply")).to_be_visible()
