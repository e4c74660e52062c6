"""Invitation e-mails: what a bulk job renders from templates cached per chunk, and what a single invitation
gets from the process's cache, is byte for byte what rendering each message gives."""

import re
from datetime import timedelta
from pathlib import Path

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
                assert cached == emails.rendered_message(invitation=invitation, redeem_url=url)
                assert emails.invitation_message(invitation=invitation, redeem_url=url) == cached
                checked += 1
    assert checked == 20
    assert len(skeletons) <= 8  # rendered once per (message or not, status, expiry), not per row


def _invitation(tenant, inviter, **fields):
    fields = {"message_language": "en", **fields}
    return Invitation(tenant=tenant, invited_email="guest@partner.example", invited_by=inviter,
                      status=Invitation.Status.PENDING_ACCEPTANCE, redirect_url="https://apps.example/", **fields)


@pytest.mark.parametrize("language", ["en", "de"])
def test_single_invitations_from_the_process_cache_carry_their_own_expiry_and_link(language):
    tenant = TenantFactory(name="Fabrikam")
    inviter = admin_of(tenant)
    now = timezone.now()
    for days in (30, 31, 30, 1):  # the same day again, and another
        for i in range(2):
            invitation = _invitation(tenant, inviter, expires_at=now + timedelta(days=days, seconds=i * 7),
                                     message_language=language)
            url = f"https://portal.example/t/x/invitations/tok{days}-{i}/"
            message = emails.invitation_message(invitation=invitation, redeem_url=url)
            assert message == emails.rendered_message(invitation=invitation, redeem_url=url)
            assert url in message[1]


def test_a_tenants_new_name_and_branding_are_in_the_next_invitation_not_a_cached_one():
    tenant = TenantFactory(name="Old Name")
    inviter = admin_of(tenant)
    invitation = _invitation(tenant, inviter, expires_at=timezone.now() + timedelta(days=30))
    before = emails.invitation_message(invitation=invitation, redeem_url="https://portal.example/a/")
    tenant.name = "New Name"
    Branding.objects.create(tenant=tenant, locale="", accent_color="#654321")
    invitation = _invitation(tenant, inviter, expires_at=timezone.now() + timedelta(days=30))
    after = emails.invitation_message(invitation=invitation, redeem_url="https://portal.example/b/")
    assert "Old Name" in before[0] and "New Name" in after[0] and "Old Name" not in after[1] + after[2]
    assert after == emails.rendered_message(invitation=invitation, redeem_url="https://portal.example/b/")


def test_the_process_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(emails, "_SKELETONS", {})
    monkeypatch.setattr(emails, "_SKELETONS_MAX", 3)
    tenant = TenantFactory()
    inviter = admin_of(tenant)
    for days in range(1, 8):
        invitation = _invitation(tenant, inviter, expires_at=timezone.now() + timedelta(days=days))
        emails.invitation_message(invitation=invitation, redeem_url="https://portal.example/a/")
        assert len(emails._SKELETONS) <= 3


def test_the_templates_print_the_expiry_only_as_a_date():
    """Skeletons are shared by invitations expiring on the same day: a template that printed the expiry's
    time would need ``invitation_message``'s key changed first."""
    date_only = re.compile(r'^expires_at\|date:"[jdDNnmMFEyYlw., ]+"$')
    folder = Path(__file__).resolve().parents[2] / "templates" / "invitations" / "email"
    uses = []
    for template in folder.glob("invitation*"):
        for use in re.findall(r"{%[^%]*expires_at[^%]*%}|{{[^}]*expires_at[^}]*}}", template.read_text()):
            uses.append(use)
            inner = use[2:-2].strip()
            assert inner == "if expires_at" or date_only.match(inner), (template.name, use)
    assert uses
