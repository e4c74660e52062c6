"""Secrets in the outbox: invitation links and sign-in codes are in the mail that is sent, but the stored
copy loses them once delivered, and the console never shows them (issue 8)."""

import pytest
from django.urls import reverse

from directory import delivery, services
from directory.actors import Actor
from directory.models import OutboxMessage
from invitations.services import invitation_create
from tests.factories import TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind", slug="tailwind", initial_domain="tailwind.example")


def _invite(tenant, **kwargs):
    return invitation_create(actor=Actor.operator(), tenant=tenant, email="ann@partner.example",
                             redirect_url="https://apps.example/", send_message=True, **kwargs)


def test_delivered_invitation_mail_keeps_no_redeem_link(tenant, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = _invite(tenant)
    token = result.redeem_url.rstrip("/").rsplit("/", 1)[1]
    [sent] = mailoutbox
    assert result.redeem_url in sent.body and result.redeem_url in sent.alternatives[0][0]  # the guest gets it

    stored = OutboxMessage.objects.get()
    assert stored.status == OutboxMessage.Status.SENT
    assert token not in stored.body_text and token not in stored.body_html and stored.secrets == []
    assert "/t/tailwind/invitations/[redacted]/" in stored.body_text
    assert "/t/tailwind/invitations/[redacted]/" in stored.body_html


def test_undelivered_mail_keeps_its_link_to_retry_but_the_console_does_not_show_it(
        tenant, settings, client, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2
    result = _invite(tenant)
    message = OutboxMessage.objects.get()
    assert delivery.outbox_deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert result.redeem_url in message.body_text  # what a retry sends

    client.force_login(admin_of(tenant).account)
    page = client.get(reverse("admin:directory_outboxmessage_change", args=[message.pk])).content.decode()
    token = result.redeem_url.rstrip("/").rsplit("/", 1)[1]
    assert token not in page and "[redacted]" in page

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    services.outbox_retry_now(actor=Actor.operator(), messages=[message])
    assert delivery.outbox_deliver(message_id=message.pk) is True
    assert result.redeem_url in mailoutbox[-1].body
    message.refresh_from_db()
    assert token not in message.body_text


def test_delivered_sign_in_code_mail_keeps_no_code(client, mailoutbox, django_capture_on_commit_callbacks):
    member = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_request_login_code"), {"email": member.account.email})
    [sent] = mailoutbox
    stored = OutboxMessage.objects.get()
    assert stored.status == OutboxMessage.Status.SENT and stored.secrets == []
    code = next(line.strip() for line in sent.body.splitlines()
                if line.strip() and line.strip().replace("-", "").isalnum() and line.strip().isupper())
    assert code not in stored.body_text and code not in stored.body_html
    assert "[redacted]" in stored.body_text
