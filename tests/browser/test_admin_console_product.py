"""The admin console as a tenant admin meets it, in Chromium at 1366×900 and 390×844: a bulk file with
an unknown column is refused before anything runs, the audit log is searched by a guest's e-mail
address, and the home page's overview counts what the data holds. Screenshots of each page at both
widths go to the test run's output folder (test-results/)."""

import re

import pytest
from playwright.sync_api import expect

from directory.actors import Actor
from directory.models import User
from invitations.models import BulkInvitationJob, Invitation
from invitations.services import invitation_create
from tests.factories import PASSWORD, GuestFactory, TenantFactory, admin_of
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture
def home():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


@pytest.fixture
def admin(home):
    return admin_of(home)


def invite(admin, tenant, email):
    return invitation_create(actor=Actor.for_user(admin), tenant=tenant, email=email,
                             redirect_url="https://tailwind.example/").invitation


WIDER_THAN_VIEWPORT = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && e.getClientRects().length)
    .slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))"""


def no_horizontal_overflow(page) -> bool:
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert fits, page.evaluate(WIDER_THAN_VIEWPORT)  # names what sticks out
    return fits


def at_both_widths(page, screenshot, label, check=None):
    for name, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.reload()
        if check:
            check()
        screenshot(page, f"{label}-{name}-{size['width']}x{size['height']}")


def test_bulk_file_with_an_unknown_column_is_refused_before_any_row_runs(browser_page, screenshot, admin, home):
    page = browser_page
    page.set_viewport_size(WIDTHS["desktop"])
    sign_in_to_admin(page, admin.account.email, PASSWORD)
    page.goto("/admin/invitations/bulkinvitationjob/add/")
    expect(page.get_by_role("link", name="Download the CSV template")).to_be_visible()
    content = (b"Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required,"
               b"Send invitation message (true or false),Customized invitation message [customizedMessageBody]\r\n"
               b"ann@partner.example,https://tailwind.example/,false,\r\n")

    for name, size in WIDTHS.items():
        page.set_viewport_size(size)
        page.goto("/admin/invitations/bulkinvitationjob/add/")
        page.locator("input[name=csv_file]").set_input_files(
            {"name": "guests.csv", "mimeType": "text/csv", "buffer": content})
        page.get_by_role("button", name="Upload and invite").click()
        error = page.locator(".field-csv_file .errorlist")
        expect(error).to_contain_text("“Send invitation message (true or false)” is not one this file can have")
        expect(error).to_contain_text("email, display name, redirect URL, send message, custom message, language")
        screenshot(page, f"bulk-unknown-column-{name}-{size['width']}x{size['height']}")

    assert not BulkInvitationJob.objects.exists()
    assert not Invitation.objects.exists()


def test_audit_log_search_by_a_guests_e_mail(browser_page, screenshot, admin, home):
    invite(admin, home, "ann@partner.example")
    invite(admin, home, "bob@partner.example")
    page = browser_page
    page.set_viewport_size(WIDTHS["desktop"])
    sign_in_to_admin(page, admin.account.email, PASSWORD)
    page.goto("/admin/directory/auditevent/")
    page.get_by_label("Target").fill("ann@partner.example")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"target=ann%40partner\.example"))

    rows = page.locator("#result_list tbody tr")
    expect(rows.filter(has_text="Invite external user")).to_have_count(1)
    expect(rows.filter(has_text="Add user")).to_have_count(1)
    expect(rows.filter(has_text="bob_partner.example")).to_have_count(0)
    expect(rows.first).to_contain_text("ann_partner.example#EXT#@tailwind.example")
    expect(rows.first.locator("td.field-initiator")).to_have_text(admin.user_principal_name)

    def fits():
        if page.viewport_size["width"] == 1366:  # every column without an inner scroll
            assert page.evaluate("(() => { const r = document.querySelector('#changelist .results');"
                                 " return r.scrollWidth <= r.clientWidth + 1; })()")
            assert no_horizontal_overflow(page)

    at_both_widths(page, screenshot, "audit-search-guest-email", fits)

    page.set_viewport_size(WIDTHS["desktop"])
    rows.filter(has_text="Invite external user").locator("th a, td a").first.click()
    targets = page.locator("table.targets")
    expect(targets).to_contain_text("ann_partner.example#EXT#@tailwind.example")
    expect(page.locator("table.initiator")).to_contain_text(admin.user_principal_name)
    at_both_widths(page, screenshot, "audit-event")


def test_overview_counts_match_the_data(browser_page, screenshot, admin, home):
    for email in ("ann@partner.example", "bob@partner.example", "cy@partner.example"):
        invite(admin, home, email)
    GuestFactory(tenant=home, external_user_state=User.ExternalUserState.ACCEPTED)
    page = browser_page
    page.set_viewport_size(WIDTHS["desktop"])
    sign_in_to_admin(page, admin.account.email, PASSWORD)

    tenant = page.locator('article.overview-tenant[data-tenant="tailwind"]')
    guests = User.objects.guests().filter(tenant=home)
    expect(tenant.locator('[data-count="guests-total"]')).to_have_text(str(guests.count()))
    expect(tenant.locator('[data-count="guests-pending"]')).to_have_text(
        str(guests.filter(external_user_state="PendingAcceptance").count()))
    expect(tenant.locator('[data-count="guests-accepted"]')).to_have_text("1")
    pending = Invitation.objects.filter(tenant=home, status=Invitation.Status.PENDING_ACCEPTANCE).count()
    expect(tenant.locator('[data-count="invitations-pending"]')).to_have_text(str(pending))
    expect(tenant.locator('[data-count="bulk-running"]')).to_have_text("0")
    # The chart is drawn (Chart.js sized its canvas) and its table holds today's three invitations.
    expect(tenant.locator("canvas[data-overview-chart]")).to_have_attribute("style", re.compile("width"))
    table = tenant.locator('table[data-chart-table="invitations"]')
    tenant.get_by_text("Show as a table").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody td").first).to_have_text("3")
    expect(page.locator("#recent-actions-module")).to_contain_text("Invite external user")

    at_both_widths(page, screenshot, "overview", lambda: assert_no_overflow(page))

    tenant.locator('[data-count="guests-pending"]').click()
    expect(page).to_have_url(re.compile(r"external_user_state__exact=PendingAcceptance"))
    expect(page.locator("#result_list tbody tr")).to_have_count(3)


def assert_no_overflow(page):
    assert no_horizontal_overflow(page)


def test_users_list_fits_at_1366_without_an_inner_scroll(browser_page, screenshot, admin, home):
    for n in range(12):
        GuestFactory(tenant=home, display_name=f"Guest with a rather long display name {n}",
                     mail=f"firstname.lastname.number{n}@a-long-partner-domain-name.example",
                     company_name="Contoso Pharmaceuticals International")
    page = browser_page
    page.set_viewport_size(WIDTHS["desktop"])
    sign_in_to_admin(page, admin.account.email, PASSWORD)
    page.goto("/admin/directory/user/")
    header = page.locator("#result_list thead")
    for column in ("Display name", "User principal name", "User type", "State", "Enabled"):
        expect(header).to_contain_text(column, ignore_case=True)

    def fits():
        if page.viewport_size["width"] == 1366:
            assert page.evaluate("(() => { const r = document.querySelector('#changelist .results');"
                                 " return r.scrollWidth <= r.clientWidth + 1; })()")
            assert no_horizontal_overflow(page)

    at_both_widths(page, screenshot, "users-list", fits)


def test_outbox_message_reads_as_mail(browser_page, screenshot, admin, home):
    invitation = invitation_create(actor=Actor.for_user(admin), tenant=home, email="ann@partner.example",
                                   redirect_url="https://tailwind.example/", send_message=True,
                                   cc_recipients=["boss@partner.example"]).invitation
    page = browser_page
    page.set_viewport_size(WIDTHS["desktop"])
    sign_in_to_admin(page, admin.account.email, PASSWORD)
    page.goto(f"/admin/invitations/invitation/{invitation.pk}/change/")
    page.locator("#invitation-messages a").first.click()
    expect(page.locator(".field-to_list")).to_contain_text("ann@partner.example")
    expect(page.locator(".field-cc_list")).to_contain_text("boss@partner.example")
    frame = page.locator("iframe.mail-preview")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("iframe.mail-preview").locator("body")).to_contain_text("invited you")
    width = frame.evaluate("f => f.getBoundingClientRect().width")
    module = page.locator("fieldset.mail-preview-module").evaluate("m => m.getBoundingClientRect().width")
    assert width >= module - 40  # the preview takes the page's width
    at_both_widths(page, screenshot, "outbox-message")
    page.goto("/admin/")
    expect(page.locator(".app-mail")).to_contain_text("Outbox messages")


@pytest.mark.worker
def test_bulk_progress_moves_live_while_a_real_worker_runs_the_job(browser_page, screenshot, celery_worker_process,
                                                                    admin, home):
    rows = 3000  # six chunks of 500: the page sees the job between chunks
    content = ("email,send message\r\n" + "".join(f"live{n}@partner.example,false\r\n" for n in range(rows))).encode()
    page = browser_page
    page.set_viewport_size(WIDTHS["desktop"])
    sign_in_to_admin(page, admin.account.email, PASSWORD)
    page.goto("/admin/invitations/bulkinvitationjob/add/")
    page.locator("input[name=csv_file]").set_input_files({"name": "live.csv", "mimeType": "text/csv", "buffer": content})
    page.get_by_role("button", name="Upload and invite").click()
    expect(page.locator("#bulk-job")).to_be_visible()

    bar = page.locator('#bulk-job progress[data-field="bar"]')
    seen = set()
    for _ in range(600):  # up to 60 s
        seen.add(int(bar.evaluate("b => b.value")))
        if page.locator("#bulk-job").get_attribute("data-state") == "finished":
            break
        page.wait_for_timeout(100)
    expect(page.locator('#bulk-job [data-field="stateLabel"]')).to_have_text("Finished")
    expect(page.locator('#bulk-job [data-field="processed"]')).to_have_text(str(rows))
    assert any(0 < value < rows for value in seen), sorted(seen)  # it moved while the worker ran, not only at the end
    screenshot(page, "bulk-progress-finished-desktop-1366x900")
    assert BulkInvitationJob.objects.get(tenant=home).created_count == rows
