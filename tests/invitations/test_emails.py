"""Invitation e-mails: what a bulk job renders from templates cached per chunk is byte for byte what
rendering each message gives."""

from datetime import timedelta

import pytest
from django.utils import timezone

from directory.models import Branding
from invitations import emails
from invitations.models import Invitation
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["en", "de"])
def test_messages_from_cached_templates_are_the_same_as_messages_rendered_one_by_one(language):
    tenant = TenantFactory(name="Tailwind & <Traders>", privacy_statement_url="https://tailwind.example/privacy")
    Branding.objects.create(tenant=tenant, locale="de", accent_color="#123456")
    inviter = admin_of(tenant)
    now = timezone.now()
    messages = ["", "Hello", "Hi <b>there</b> & \"you\" 'all'\nsecond line", "\ue000message\ue001 {{ x }} %s",
                "\ue000redeem_url\ue001"]
    skeletons: dict = {}
    checked = 0
    for status in (Invitation.Status.PENDING_ACCEPTANCE, Invitation.Status.COMPLETED):
        for expires_at in (now + timedelta(days=30), None):
            for i, body in enumerate(messages):
                invitation = Invitation(
                    tenant=tenant, invited_email=f"g{i}@partner.example", invited_by=inviter, status=status,
                    redirect_url=f"https://apps.example/?a=1&b=<{i}>", message_body=body, message_language=language,
                    expires_at=expires_at)
                url = f"https://portal.example/t/x/invitations/tok{i}&\"'/"
                cached = emails.invitation_message(invitation=invitation, redeem_url=url, skeletons=skeletons)
                assert cached == emails.invitation_message(invitation=invitation, redeem_url=url)
                checked += 1
    assert checked == 20
    assert len(skeletons) <= 8  # rendered once per (message or not, status, expiry), not per row
