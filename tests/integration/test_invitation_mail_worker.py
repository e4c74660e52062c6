"""An invitation e-mail goes through the outbox and a real worker to the SMTP server, exactly once."""

import pytest

from directory.actors import Actor
from directory.models import OutboxMessage
from directory.tasks import outbox_deliver_task
from invitations import services
from invitations.models import Invitation
from tests.factories import TenantFactory, admin_of
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_invitation_mail_is_delivered_once_by_the_worker(celery_worker_process, smtp_sink, settings):
    settings.SITE_URL = "https://portal.example.com"
    tenant = TenantFactory(name="Tailwind Traders", initial_domain="tailwind.example")
    inviter = admin_of(tenant)
    result = services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email="dana@fabrikam.example",
                                        redirect_url="https://portal.example.com/t/x/", send_message=True,
                                        message_language="de")
    [mail] = smtp_sink.wait_for(1, timeout=20)
    assert mail.rcpt_tos == ["dana@fabrikam.example"]
    assert "eingeladen" in mail.subject
    assert result.redeem_url in mail.message.get_body(preferencelist=("plain",)).get_content()
    message = OutboxMessage.objects.get(tenant=tenant)
    wait_until(lambda: OutboxMessage.objects.get(pk=message.pk).status == "sent", timeout=15,
               what="message marked sent")
    assert Invitation.objects.get(pk=result.invitation.pk).send_count == 1
    # A duplicated delivery task, run to its end by the worker, sends no second copy.
    celery_worker_process.wait_for_task(outbox_deliver_task.delay(str(message.pk)))
    assert len(smtp_sink.received) == 1
