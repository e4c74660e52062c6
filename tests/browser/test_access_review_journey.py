"""A quarterly guest review of a group, end to end with a real worker and beat (issue 14's "Done when").

The test moves the clock by moving the review's timestamps (the quarter's start, then the instance's
end) into the past; everything else is the product's own doing: beat's access review sweep (every two
seconds here) starts the instance and mails the owner, the owner denies one guest in the access panel
and approves another, and leaves the third, whose recommendation is Deny (no sign-in for 45 days),
unanswered; at the end the sweep takes the recommendation for the unanswered one, applies both denials
(they lose the group), and their sponsor gets a mail in the SMTP sink.
"""

import re
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from directory.actors import Actor
from entitlements import services
from entitlements.models import AccessReviewDecision, AccessReviewDefinition, AccessReviewInstance
from tests.factories import PASSWORD, GroupFactory, GuestFactory, TenantFactory, UserFactory
from tests.support.waiting import wait_until
from tests.support.worker import PROJECT_ROOT, _celery_command

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_beat_process(celery_worker_process, tmp_path):
    """``celery beat`` beside the worker (same broker, queue and database), the review sweep every 2 s."""
    log_path = tmp_path / "celery-beat.log"
    env = {**celery_worker_process.env, "ACCESS_REVIEW_SWEEP_SECONDS": "2"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_celery_command(), "-A", "config", "beat", "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule"),
             "--pidfile="], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: "beat: Starting" in log_path.read_text(errors="replace"), 30, "beat to start", interval=0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_a_quarterly_guest_review_removes_the_denied_and_the_silent_and_tells_their_sponsor(
        browser_page, live_server, smtp_sink, settings, celery_beat_process, screenshot):
    settings.SITE_URL = live_server.url
    tenant = TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")
    owner = UserFactory(tenant=tenant, display_name="Olivia Owner")
    sponsor = UserFactory(tenant=tenant, display_name="Sam Sponsor")
    group = GroupFactory(tenant=tenant, display_name="Project Falcon")
    group.owners.add(owner)
    months_ago, recently = timezone.now() - timedelta(days=120), timezone.now() - timedelta(days=3)
    dana = GuestFactory(tenant=tenant, display_name="Dana Denied", created_at=months_ago, last_sign_in_at=recently)
    ian = GuestFactory(tenant=tenant, display_name="Ian Idle", created_at=months_ago,
                       last_sign_in_at=timezone.now() - timedelta(days=45))
    ann = GuestFactory(tenant=tenant, display_name="Ann Active", created_at=months_ago, last_sign_in_at=recently)
    for guest in (dana, ian, ann):
        guest.sponsors.add(sponsor)
    group.members.add(dana, ian, ann)
    definition = services.review_definition_create(
        actor=Actor.operator(), tenant=tenant, display_name="Falcon guests, quarterly", scope_kind="group",
        group=group, guests_only=True, reviewer_kind="owners", recurrence="quarterly", instance_duration_days=14,
        start_at=timezone.now() + timedelta(days=30), default_decision_enabled=True,
        default_decision="Recommendation", auto_apply_decisions_enabled=True)

    # The clock reaches the quarter's start: beat's sweep starts the review and the owner is mailed.
    AccessReviewDefinition.objects.filter(pk=definition.pk).update(next_instance_at=timezone.now() - timedelta(seconds=1))
    started = smtp_sink.wait_for(1, timeout=60, where=lambda m: owner.mail in m.rcpt_tos)
    assert started[0].message["Subject"].startswith("Action required: Review access to Project Falcon")
    instance = AccessReviewInstance.objects.get(definition=definition)
    assert AccessReviewDecision.objects.get(instance=instance, principal=ian).recommendation == "Deny"

    page = browser_page
    page.goto("/accounts/login/?next=/t/tailwind/reviews/")
    page.locator("input[name=login]").fill(owner.account.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/t/tailwind/reviews/$"))
    expect(page.locator("nav.panel-nav")).to_contain_text("Access reviews")
    page.get_by_role("link", name="Falcon guests, quarterly").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Falcon guests, quarterly")
    rows = page.locator("table.review-items tbody tr")
    expect(rows).to_have_count(3)
    expect(page.get_by_role("row", name="Ian Idle")).to_contain_text("Deny")  # the recommendation, shown
    dana_row = page.get_by_role("row", name="Dana Denied")
    dana_row.locator("input[name=justification]").fill("Left the project")
    dana_row.get_by_role("button", name="Deny: Dana Denied").click()
    expect(page.locator("ul.messages")).to_contain_text("Your decision for Dana Denied was saved.")
    page.get_by_role("row", name="Ann Active").get_by_role("button", name="Approve: Ann Active").click()
    expect(page.get_by_role("row", name="Dana Denied")).to_contain_text("Left the project")
    screenshot(page, "access-review-decided")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one block per person, nothing sideways
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    screenshot(page, "access-review-decided-phone")
    assert dict(AccessReviewDecision.objects.filter(instance=instance).values_list(
        "principal__display_name", "decision")) == {"Dana Denied": "Deny", "Ann Active": "Approve",
                                                   "Ian Idle": "NotReviewed"}
    assert group.members.filter(pk=dana.pk).exists()  # nothing changes before the end

    # The clock reaches the end: the sweep takes Ian's recommendation and applies both denials.
    AccessReviewInstance.objects.filter(pk=instance.pk).update(end_at=timezone.now() - timedelta(seconds=1))
    wait_until(lambda: not group.members.filter(pk__in=[dana.pk, ian.pk]).exists(), 60, "the denials to be applied",
               interval=0.2)
    assert set(group.members.values_list("pk", flat=True)) == {ann.pk}
    told = smtp_sink.wait_for(2, timeout=60, where=lambda m: sponsor.mail in m.rcpt_tos)
    assert sorted(m.message["Subject"] for m in told) == [
        "Dana Denied lost access to Project Falcon after an access review",
        "Ian Idle lost access to Project Falcon after an access review"]
    instance.refresh_from_db()
    assert instance.status == "Completed" and instance.applied_at is not None
    assert AccessReviewDecision.objects.get(instance=instance, principal=ian).by_default

    page.goto("/t/tailwind/reviews/")
    expect(page.locator("main")).to_contain_text("No access reviews are waiting for you.")
