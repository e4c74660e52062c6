"""Issue 13's "Done when", in a real browser with a real Celery worker and beat:

a Proseware user who is not yet a guest of Tailwind opens a Tailwind access package's link and requests
it; the first of two approval stages times out to its alternate approver (the sweep's clock moved by the
test, ``directory.clock``), who approves, and the second stage's approver approves; the worker invites the
requestor silently (no invitation e-mail) and adds them to the package's group; they see the group's app
on My Apps. Then the clock moves past the assignment's end, beat's expiry sweep takes the access away, and
a membership someone holds directly (added after their own package was delivered) stays.
"""

import re
import subprocess
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from directory.actors import Actor
from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import AppRoleAssignment, Group, OutboxMessage, Tenant, User
from directory.services import app_assignment_create, group_member_add, user_create
from entitlements import services
from entitlements.models import Assignment, AssignmentRequest, StageApprover
from tests.support.worker import PROJECT_ROOT, _celery_command

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TW, PW = "tailwindtraders.example", "proseware.example"
PAT = f"pat@{PW}"
DAY = 24 * 3600


@pytest.fixture
def clock_file(tmp_path):
    path = tmp_path / "clock-offset"
    path.write_text("0")
    return path


@pytest.fixture
def celery_worker_env(clock_file, live_server):
    # The worker and beat read the test's clock; beat runs entitlement management's sweeps every second;
    # the links the worker writes (the silent invitation's redirect) point at the live server.
    return {"TEST_CLOCK_FILE": str(clock_file), "ENTITLEMENT_SWEEP_SECONDS": "1", "SITE_URL": live_server.url}


@pytest.fixture
def celery_beat(celery_worker_process, tmp_path):
    """A real ``celery beat`` publishing the schedule to the test worker's queue."""
    log = open(tmp_path / "celery-beat.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen([*_celery_command(), "-A", "config", "beat", "--loglevel=INFO",
                                "-s", str(tmp_path / "beat-schedule")], cwd=PROJECT_ROOT,
                               env=celery_worker_process.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_until(condition, what: str, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.25)


def sign_in(page, email: str, next_url: str) -> None:
    page.goto(f"/accounts/login/?next={next_url}")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(re.escape(next_url) + "$"))


def _setup():
    seed_demo()
    tailwind, proseware = Tenant.objects.get(slug="tailwind"), Tenant.objects.get(slug="proseware")
    people = {u.user_principal_name.split("@")[0]: u for u in User.objects.filter(tenant=tailwind).members()}
    user_create(actor=Actor.operator(), tenant=proseware, display_name="Pat Proseware", user_principal_name=PAT,
                mail=PAT, company_name="Proseware", creation_type="", password=DEMO_PASSWORD)
    operator = Actor.operator()
    # Pat keeps her guest account when her access ends (the external-user lifecycle's block is its own test's).
    services.entitlement_settings_update(actor=operator, tenant=tailwind,
                                         changes={"external_user_lifecycle_action": "none"})
    group = Group.objects.create(tenant=tailwind, display_name="Campaign partners")
    app = tailwind.applications.get(display_name="Project Tracker")
    app_assignment_create(actor=operator, application=app, group=group)
    catalog = services.catalog_create(actor=operator, tenant=tailwind, display_name="Partner campaigns")
    resource = services.catalog_resource_add(actor=operator, catalog=catalog, obj=group)
    package = services.package_create(actor=operator, catalog=catalog, display_name="Campaign collaboration")
    services.role_scope_add(actor=operator, package=package, resource=resource, role="Member")

    def single(user):
        return {"@odata.type": "#microsoft.graph.singleUser", "userId": str(user.pk)}

    policy = services.policy_create(
        actor=operator, package=package, display_name="Partners", allowed_target_scope="allExternalUsers",
        is_approval_required_for_add=True, is_requestor_justification_required=True,
        expiration_type="afterDuration", expiration_duration=timedelta(days=30),
        stages=[{"primary_approvers": [single(people["adele"])], "is_escalation_enabled": True,
                 "duration_before_escalation": timedelta(days=1), "duration_before_automatic_denial": timedelta(days=5),
                 "escalation_approvers": [single(people["lee"])]},
                {"primary_approvers": [single(people["admin"])]}])
    return {"tailwind": tailwind, "people": people, "group": group, "app": app, "package": package, "policy": policy}


def test_a_partner_requests_a_package_by_link_is_approved_in_two_stages_and_loses_it_on_expiry(
        browser_page, new_context, live_server, celery_worker_process, celery_beat, clock_file, smtp_sink, settings):
    settings.SITE_URL = live_server.url
    s = _setup()
    tailwind, people, package = s["tailwind"], s["people"], s["package"]

    # Pat (Proseware, not a guest of Tailwind) opens the package's link and requests it.
    pat = browser_page
    link = f"/t/tailwind/access/packages/{package.pk}/"
    # Signing in on the way, then sent on to the package's page for people not in Tailwind's directory.
    pat.goto(f"/accounts/login/?next={link}")
    pat.locator("input[name=login]").fill(PAT)
    pat.locator("input[name=password]").fill(DEMO_PASSWORD)
    pat.locator("form button[type=submit]").first.click()
    expect(pat).to_have_url(re.compile(rf"/t/tailwind/access/packages/{package.pk}/external/$"))
    expect(pat.get_by_role("heading", level=1)).to_have_text("Campaign collaboration")
    pat.locator("#justification").fill("Joint spring campaign")
    pat.get_by_role("button", name="Request access").click()
    expect(pat.get_by_role("status")).to_contain_text("Your request was submitted")
    request = AssignmentRequest.objects.get(package=package)
    assert request.state == "pendingApproval" and request.target is None and request.target_email == PAT
    assert not User.objects.filter(tenant=tailwind, mail=PAT).exists()

    # Adele (stage 1) does nothing; a day passes on the sweeps' clock and beat forwards it to Lee.
    clock_file.write_text(str(DAY + 3600))
    _wait_until(lambda: StageApprover.objects.filter(stage__request=request, is_escalation=True,
                                                     user=people["lee"]).exists(), "escalation to Lee")
    clock_file.write_text("0")
    lee = new_context(base_url=live_server.url).new_page()
    sign_in(lee, f"lee@{TW}", "/t/tailwind/approvals/")
    card = lee.locator("article.request", has_text="Campaign collaboration")
    expect(card).to_contain_text("Joint spring campaign")
    card.get_by_role("button", name="Approve").click()
    expect(lee.get_by_role("status")).to_contain_text("Approved")

    # Stage 2: the Tailwind admin approves; the worker invites Pat silently and delivers.
    admin = new_context(base_url=live_server.url).new_page()
    sign_in(admin, f"admin@{TW}", "/t/tailwind/approvals/")
    admin.locator("article.request", has_text="Campaign collaboration").get_by_role("button", name="Approve").click()
    expect(admin.get_by_role("status")).to_contain_text("Approved")
    _wait_until(lambda: AssignmentRequest.objects.get(pk=request.pk).state == "delivered", "delivery by the worker")
    guest = User.objects.get(tenant=tailwind, mail=PAT)
    assert guest.user_type == "Guest" and s["group"].members.filter(pk=guest.pk).exists()
    assert not OutboxMessage.objects.filter(to=[PAT], subject__icontains="invit").exists()  # invited silently

    # Pat opens Tailwind's panel (redeemed just in time, after consenting) and sees the group's app on My Apps.
    pat.goto("/t/tailwind/")
    expect(pat.get_by_role("heading", level=1)).to_have_text("Review permissions")  # consent, once, as Entra asks
    pat.get_by_role("button", name="Accept", exact=True).click()
    expect(pat).to_have_url(re.compile(r"/t/tailwind/access/$"))  # My Access: what she holds, until when
    expect(pat.locator("#h-access + table")).to_contain_text("Campaign collaboration")
    pat.get_by_role("link", name="My apps").click()
    expect(pat).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(pat.locator(".tile.app", has_text="Project Tracker")).to_have_count(1)

    # Megan holds the group through the package too, and an admin then adds her directly: hers to keep.
    megan = people["megan"]
    with_megan = services.request_admin_add(actor=Actor.for_user(people["admin"]), package=package,
                                            policy=s["policy"], target=megan)
    _wait_until(lambda: AssignmentRequest.objects.get(pk=with_megan.pk).state == "delivered", "Megan's delivery")
    assert group_member_add(actor=Actor.for_user(people["admin"]), group=s["group"], user=megan) is True

    # 31 days later on the sweeps' clock: beat's expiry sweep ends both assignments.
    clock_file.write_text(str(31 * DAY))
    _wait_until(lambda: not Assignment.objects.filter(package=package, state="delivered").exists(), "expiry by beat")
    members = set(s["group"].members.values_list("pk", flat=True))
    assert guest.pk not in members and megan.pk in members
    pat.reload()
    expect(pat.locator(".tile.app", has_text="Project Tracker")).to_have_count(0)
    assert AppRoleAssignment.objects.filter(application=s["app"], group=s["group"]).exists()
    smtp_sink.wait_for(1, timeout=40, where=lambda m: m.subject == "Access has ended for Campaign collaboration"
                       and PAT in m.rcpt_tos)
