"""The whole B2B journey in a real browser, with mail through a real SMTP sink:

the admin invites a partner in the admin console → the invitation e-mail arrives → the guest opens the
link → gets a one-time code by e-mail → enters it → consents → sees the granted app on the access panel.
"""

import re

import pytest
from playwright.sync_api import expect

from directory.demo import DEMO_PASSWORD, seed_demo
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUEST = "dana@fabrikam.example"


def _text_of(mail) -> str:
    message = mail.message if hasattr(mail, "message") else mail
    part = message.get_body(preferencelist=("plain",))
    return part.get_content()


def test_admin_invites_and_guest_redeems_with_an_emailed_code(browser_page, new_context, live_server, smtp_sink,
                                                              settings):
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_sink.port, 5
    seed_demo()

    # The admin invites Dana and grants the Partner Portal app.
    admin = browser_page
    sign_in_to_admin(admin, "admin@tailwindtraders.example", DEMO_PASSWORD)
    admin.goto("/admin/invitations/invitation/add/")
    admin.locator("#id_email").fill(GUEST)
    admin.locator("#id_display_name").fill("Dana Fabrikam")
    admin.locator("#id_message_body").fill("Welcome aboard! <b>not bold</b>")
    # "Assign applications" is the admin's autocomplete: type, then pick, as a person does.
    admin.locator("#id_applications + .select2").click()
    admin.locator(".select2-container--open .select2-search__field").fill("Partner")
    admin.locator(".select2-results__option", has_text="Partner Portal").click()
    admin.locator("input[type=submit][name=_save], input[type=submit]").first.click()
    expect(admin.locator(".messagelist")).to_contain_text(GUEST)

    # The invitation arrives at the SMTP sink, with the custom message as text.
    [invitation_mail] = smtp_sink.wait_for(1, where=lambda m: GUEST in str(m.message["To"]) if hasattr(
        m, "message") else GUEST in str(m["To"]))
    body = _text_of(invitation_mail)
    assert "Welcome aboard! <b>not bold</b>" in body
    link = re.search(r"(http://\S+/t/tailwind/invitations/\S+/)", body).group(1)

    # The guest, in a browser of their own, opens the link: GET shows, the button starts.
    guest = new_context(base_url=live_server.url).new_page()
    guest.goto(link)
    expect(guest.get_by_role("heading")).to_contain_text("Tailwind Traders")
    guest.get_by_role("button", name="Accept invitation").click()

    # A one-time code is e-mailed to the invited address; the guest types it in.
    code_mail = smtp_sink.wait_for(2)[-1]
    code = re.search(r"^\s*([A-Z0-9]{3}-?[A-Z0-9]{3})\s*$", _text_of(code_mail), re.MULTILINE).group(1)
    guest.locator("input[name=code]").fill(code)
    guest.locator("form").filter(has=guest.locator("input[name=code]")).locator(
        "button[type=submit]").first.click()

    # Consent: what Tailwind Traders will see, and its privacy statement.
    expect(guest.get_by_role("heading", name="Review permissions")).to_be_visible()
    expect(guest.locator("main")).to_contain_text(GUEST)
    guest.get_by_role("button", name="Accept").click()

    # The access panel shows the app that was granted.
    expect(guest).to_have_url(re.compile(r"/t/tailwind/$"))
    expect(guest.locator(".tile.app")).to_contain_text(["Partner Portal"])
    expect(guest.locator(".tile.app")).to_have_count(1)
