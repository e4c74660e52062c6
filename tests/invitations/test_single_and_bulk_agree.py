"""One invite path: every case ends the same whether it goes through ``invitation_create`` or through a
one-row bulk job — the same invitations, the same user, the same mail, the same audit activities and,
for a row that cannot be invited, the same reason."""

import csv
import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from directory.actors import Actor
from directory.models import AuditEvent, OutboxMessage, User
from invitations import bulk
from invitations.models import Invitation
from invitations.services import invitation_create
from policies import services as policy_services
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

REDIRECT = "https://apps.example/start"
MESSAGE = "Welcome <aboard> & \"enjoy\""
PENDING, COMPLETED, REVOKED = "PendingAcceptance", "Completed", "Revoked"
SUPERSEDED = (REVOKED, "superseded by a newer invitation")


def nothing(tenant, email):
    pass


def pending_guest_with_an_invitation(tenant, email):
    invitation_create(actor=Actor.operator(), tenant=tenant, email=email, redirect_url=REDIRECT)


def pending_guest_without_an_invitation(tenant, email):
    GuestFactory(tenant=tenant, mail=email)


def accepted_guest(tenant, email):
    GuestFactory(tenant=tenant, mail=email, external_user_state=User.ExternalUserState.ACCEPTED)


def deleted_user(tenant, email):
    GuestFactory(tenant=tenant, mail=email, deleted_at=timezone.now() - timedelta(days=1))


def member(tenant, email):
    UserFactory(tenant=tenant, mail=email)


@dataclass(frozen=True)
class Case:
    email: str
    setup: object = nothing
    redirect_url: str = REDIRECT
    message: str = MESSAGE
    # What both paths must end with (so that agreeing on a wrong outcome fails too):
    invitations: tuple = ()  # (status, status reason) of the address's invitations, sorted
    error: str = ""  # part of the reason when the address cannot be invited


CASES = {
    "new address": Case("new@partner.example", invitations=((PENDING, ""),)),
    "pending guest": Case("known@partner.example", pending_guest_with_an_invitation,
                          invitations=((PENDING, ""), SUPERSEDED)),
    "pending guest without an invitation": Case("bare@partner.example", pending_guest_without_an_invitation,
                                                invitations=((PENDING, ""),)),
    "accepted guest": Case("here@partner.example", accepted_guest, invitations=((COMPLETED, ""),)),
    "deleted user": Case("gone@partner.example", deleted_user, error="restore that user first"),
    "member": Case("staff@partner.example", member, error="already belongs to a user of this organization"),
    "own domain": Case("eve@{own}", error="own domain; add them as a member instead"),
    "blocked domain": Case("bob@blocked.example", error="Invitations to blocked.example are blocked"),
    "invalid address": Case("not-an-address", error="is not a valid e-mail address"),
    "unsafe redirect URL": Case("cy@partner.example", redirect_url="javascript:alert(1)",
                                error="must start with https://"),
    "message too long": Case("fay@partner.example", message="x" * 10_001, error="longer than 10,000 characters"),
}


def tenant_named(slug: str):
    tenant = TenantFactory(name="Tailwind Traders", slug=slug, initial_domain=f"{slug}.example")
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "block", "domains": ["blocked.example"]})
    admin = admin_of(tenant)
    User.objects.filter(pk=admin.pk).update(display_name="Ada Admin")
    admin.refresh_from_db()
    return tenant, admin


def invite_single(tenant, admin, case: Case, email: str) -> str:
    try:
        invitation_create(actor=Actor.for_user(admin), tenant=tenant, email=email, redirect_url=case.redirect_url,
                          send_message=True, message_body=case.message)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return ""


def invite_bulk(tenant, admin, case: Case, email: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([("email", "redirect URL", "send message", "custom message"),
                                  (email, case.redirect_url, "true", case.message)])
    source = buffer.getvalue()
    job = bulk.bulk_invitation_job_create(actor=Actor.for_user(admin), tenant=tenant, file_name="one.csv",
                                          source=source, enqueue=False)
    bulk.bulk_invitation_job_process(job_id=job.pk)
    [row] = bulk.results_rows(job.pk)
    assert row["result"] in ("created", "error")
    return row["reason"] if row["result"] == "error" else ""


def outcome(tenant, email: str, before: set, error: str) -> dict:
    own = tenant.initial_domain
    address = email.lower()
    mails = OutboxMessage.objects.filter(tenant=tenant).exclude(pk__in=before)
    return {
        "error": error.replace(own, "<own>"),
        "invitations": sorted(Invitation.objects.filter(tenant=tenant, invited_email=address)
                              .values_list("status", "status_reason")),
        "users": sorted((u.user_type, u.external_user_state, u.deleted_at is None, u.creation_type)
                        for u in User.objects.filter(tenant=tenant).with_mail(address)),
        "mails": sorted((m.to == [address], m.subject, "You already have access" in m.body_text,
                         "Welcome &lt;aboard&gt; &amp; &quot;enjoy&quot;" in m.body_html) for m in mails),
        "audit": sorted(AuditEvent.objects.filter(tenant=tenant).exclude(pk__in=before)
                        .exclude(activity_display_name="Bulk invite external users")
                        .values_list("activity_display_name", flat=True)),
    }


def seen_ids(tenant) -> set:
    return {*OutboxMessage.objects.filter(tenant=tenant).values_list("pk", flat=True),
            *AuditEvent.objects.filter(tenant=tenant).values_list("pk", flat=True)}


@pytest.mark.parametrize("name", list(CASES))
def test_single_invite_and_a_one_row_bulk_job_end_the_same(name):
    case = CASES[name]
    results = {}
    for path, invite in (("single", invite_single), ("bulk", invite_bulk)):
        tenant, admin = tenant_named(path)
        email = case.email.format(own=tenant.initial_domain)
        case.setup(tenant, email.lower())
        before = seen_ids(tenant)
        results[path] = outcome(tenant, email, before, invite(tenant, admin, case, email))

    assert results["bulk"] == results["single"]
    single = results["single"]
    if case.error:
        assert case.error in single["error"]
        assert not single["mails"] and not single["audit"]
    else:
        assert single["error"] == ""
        assert single["invitations"] == sorted(case.invitations)
        assert single["mails"] == [(True, "Ada Admin invited you to access applications within Tailwind Traders",
                                    name == "accepted guest", True)]
        expected = ["Invite external user"] if case.setup is not nothing else ["Add user", "Invite external user"]
        assert single["audit"] == expected
