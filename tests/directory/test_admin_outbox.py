"""The outbox in the admin console: its own "Mail" section; on the embedded defaults a delivered row
says it was kept here, not delivered; To and Cc as lists; the HTML in a full-width sandboxed frame."""

import pytest
from django.test import override_settings
from django.urls import reverse

from directory.models import OutboxMessage
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db

DUMMY = "django.core.mail.backends.dummy.EmailBackend"


@pytest.fixture
def home():
    return TenantFactory(name="Home Co")


@pytest.fixture
def admin_client(client, home):
    client.force_login(admin_of(home).account)
    return client


@pytest.fixture
def message(home):
    return OutboxMessage.objects.create(
        tenant=home, from_email="no-reply@home.example", to=["ann@partner.example", "bob@partner.example"],
        cc=["boss@partner.example"], subject="You're invited", body_text="Hello", body_html="<p>Hello <b>Ann</b></p>",
        status=OutboxMessage.Status.SENT)


def test_mail_has_its_own_section_on_the_home_page_not_under_directory(admin_client, message):
    response = admin_client.get(reverse("admin:index"))
    apps = {app["app_label"]: [m["object_name"] for m in app["models"]] for app in response.context["app_list"]}
    assert apps["mail"] == ["OutboxMessage"]
    assert "OutboxMessage" not in apps["directory"]
    assert 'class="app-mail module' in response.content.decode()


@override_settings(EMAIL_BACKEND=DUMMY)
def test_on_embedded_defaults_a_sent_row_reads_kept_not_delivered(admin_client, message):
    body = admin_client.get(reverse("admin:directory_outboxmessage_changelist")).content.decode()
    assert '<td class="field-delivery">Kept here, not delivered</td>' in body and 'id="mail-kept-note"' in body


def test_with_a_mail_server_a_sent_row_reads_sent(admin_client, message):
    body = admin_client.get(reverse("admin:directory_outboxmessage_changelist")).content.decode()
    assert "Kept here, not delivered" not in body and '<td class="field-delivery">Sent</td>' in body


def test_message_page_lists_recipients_and_previews_html_full_width_in_a_sandbox(admin_client, message):
    body = admin_client.get(reverse("admin:directory_outboxmessage_change", args=[message.pk])).content.decode()
    assert '<li class="wrap">ann@partner.example</li><li class="wrap">bob@partner.example</li>' in body
    assert '<li class="wrap">boss@partner.example</li>' in body
    assert '["ann@partner.example"' not in body
    preview = body.split('class="module mail-preview-module"', 1)[1]
    assert '<iframe sandbox srcdoc="&lt;p&gt;Hello &lt;b&gt;Ann&lt;/b&gt;&lt;/p&gt;"' in preview
    assert 'class="mail-preview"' in preview


def test_outbox_list_queries_do_not_grow_with_rows(admin_client, home, django_assert_max_num_queries):
    OutboxMessage.objects.bulk_create([OutboxMessage(tenant=home, from_email="x@home.example", to=[f"g{n}@p.example"],
                                                     subject=f"s{n}", body_text="t") for n in range(80)])
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:directory_outboxmessage_changelist"))
    assert len(response.context["cl"].result_list) == 80
