"""One chunk of a bulk job: check its rows and write what :func:`invitations.services.invitation_create`
writes for each of them, with a fixed number of queries.

Each row goes through the single invite's checks (``validate_invitee``,
``validate_invitation_options``, ``check_existing_invitee``) and its row builders (``build_guest_user``,
``build_invitation``, ``invitation_outbox_message``, ``invitation_audit_events``), and so ends as the
single invite would:

- a new address: a new guest (pending acceptance, the inviter as sponsor) and a pending invitation;
- a guest already in the directory who has not accepted: its pending invitations are replaced
  ("superseded by a newer invitation") by a new pending one;
- a guest who has accepted: an invitation completed at once;
- a deleted user or a member with the address, the tenant's own or a blocked domain: an error;

and, when asked, the invitation e-mail in the outbox. The chunk looks up its addresses and user
principal names once, revokes the superseded invitations in one update and ``bulk_create``\\ s each
table once. A bad row becomes an error line and never stops or half-writes the others. Bulk rows
carry no group or app grants, so there is nothing to check or apply for them.
"""

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from directory import services as directory_services
from directory.actors import Actor
from directory.audit import audit_save
from directory.models import OutboxMessage, Tenant, User, UserIdentity
from policies.cross_tenant_access import AUTOMATIC_REDEMPTION
from policies.cross_tenant_access import invitation_decisions as cross_tenant_invitation_decisions

from .. import emails
from ..models import Invitation
from ..services import (
    build_invitation,
    check_existing_invitee,
    invitation_audit_events,
    invitation_outbox_message,
    invitation_status_for,
    supersede_pending,
    validate_invitation_options,
    validate_invitee,
)
from .results import ALREADY_INVITED, CREATED, ERROR
from .source import SourceRow

UPN_MAX = User._meta.get_field("user_principal_name").max_length
_TRUE = {"true", "yes", "y", "1", "on", "wahr", "ja"}
_FALSE = {"false", "no", "n", "0", "off", "falsch", "nein"}


@dataclass(frozen=True)
class BulkDefaults:
    """Values for a row's empty cells (the admin's jobs use these; the CLI passes its options)."""

    send_message: bool = True
    redirect_url: str = ""  # empty: the tenant's access panel
    message_body: str = ""
    message_language: str = Invitation.Language.EN


@dataclass
class JobContext:
    """What every chunk of one job needs, loaded once per run of the job."""

    job_id: uuid.UUID
    tenant: Tenant
    actor: Actor
    inviter: User | None
    settings: object
    own_domains: set[str]
    initiated_by: dict
    defaults: BulkDefaults
    default_redirect: str
    seen: dict[str, int] = field(default_factory=dict)  # address -> row that invited it


@dataclass
class Outcome:
    lines: list[tuple] = field(default_factory=list)
    outbox_ids: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {CREATED: 0, ALREADY_INVITED: 0, ERROR: 0})

    def add(self, row: SourceRow, result: str, reason: str = "", invitation_id="", url: str = "") -> None:
        self.lines.append((row.number, row.values.get("email", ""), result, reason, str(invitation_id or ""), url))
        self.counts[result] += 1

    def extend(self, other: "Outcome") -> None:
        self.lines.extend(other.lines)
        self.outbox_ids.extend(other.outbox_ids)
        self.seen.update(other.seen)
        for key, value in other.counts.items():
            self.counts[key] += value


@dataclass
class Candidate:
    row: SourceRow
    email: str
    display_name: str
    redirect_url: str
    send_message: bool
    message_body: str
    message_language: str
    upn: str = ""
    existing: User | None = None  # the guest that already has this address
    automatic: bool = False  # both tenants redeem automatically: the notice instead of the invitation e-mail


@dataclass(frozen=True)
class Written:
    invitation: Invitation
    url: str
    message_id: uuid.UUID | None
    reason: str


def validate_row(context: JobContext, row: SourceRow) -> Candidate:
    """The row as invitation_create would take it, or ValidationError with the single invite's reason."""
    values = row.values
    email = validate_invitee(settings=context.settings, tenant=context.tenant, own_domains=context.own_domains,
                             email=values.get("email", ""), cross_tenant=False)  # for the chunk: invite_chunk
    redirect_url, message_body, message_language = validate_invitation_options(
        redirect_url=values.get("redirect_url") or context.default_redirect,
        message_body=values.get("message_body") or context.defaults.message_body,
        message_language=(values.get("message_language") or "").strip().lower() or context.defaults.message_language,
    )
    send = values.get("send_message", "").strip().lower()
    if send and send not in _TRUE | _FALSE:
        raise ValidationError(_("Send message must be true or false, not “%(value)s”.") % {"value": send[:20]})
    return Candidate(
        row=row, email=email, display_name=values.get("display_name", ""), redirect_url=redirect_url,
        send_message=(send in _TRUE) if send else context.defaults.send_message, message_body=message_body,
        message_language=message_language,
        upn=directory_services.guest_user_principal_name(email=email, tenant=context.tenant),
    )


def invite_chunk(context: JobContext, chunk: list[SourceRow], seen_before: dict[str, int] | None = None) -> Outcome:
    """Invite the rows of one chunk with a fixed number of queries. Call inside a transaction."""
    verdicts: dict[int, tuple[str, str]] = {}  # row number -> (result, reason) for rows not invited
    valid: list[Candidate] = []
    for row in chunk:
        try:
            valid.append(validate_row(context, row))
        except ValidationError as exc:
            verdicts[row.number] = (ERROR, " ".join(exc.messages))
    if valid:  # cross-tenant access settings, for the whole chunk at once (the single invite asks per address)
        decisions = cross_tenant_invitation_decisions(tenant=context.tenant, emails=[c.email for c in valid])
        for candidate in [c for c in valid if not decisions[c.email]]:
            verdicts[candidate.row.number] = (ERROR, decisions[candidate.email].reasons[0])
            valid.remove(candidate)
        for candidate in valid:
            candidate.automatic = decisions[candidate.email].code == AUTOMATIC_REDEMPTION
    tenant = context.tenant
    existing, taken_upns = {}, set()
    if valid:
        pending = Invitation.objects.filter(invited_user=OuterRef("pk"), status=Invitation.Status.PENDING_ACCEPTANCE)
        existing = {
            user.mail.lower(): user for user in User.objects.filter(tenant=tenant).exclude(mail="")
            .alias(mail_lower=Lower("mail")).filter(mail_lower__in={c.email for c in valid})
            .annotate(has_pending=Exists(pending)).select_for_update()  # as the single invite locks its guest
            .only("id", "tenant_id", "mail", "display_name", "user_principal_name", "user_type", "deleted_at",
                  "external_user_state")
        }
        taken_upns = set(
            User.objects.filter(tenant=tenant).annotate(upn_lower=Lower("user_principal_name"))
            .filter(upn_lower__in={c.upn.lower() for c in valid}).values_list("upn_lower", flat=True)
        )

    outcome = Outcome()
    seen = {**context.seen, **(seen_before or {})}
    invite: list[Candidate] = []
    for candidate in valid:
        email, number = candidate.email, candidate.row.number
        user = existing.get(email)
        if email in seen:
            verdicts[number] = (ALREADY_INVITED, _("Also in row %(row)s of this file.") % {"row": seen[email]})
            continue
        if user is not None:
            try:
                check_existing_invitee(user, email)
            except ValidationError as exc:
                verdicts[number] = (ERROR, " ".join(exc.messages))
                continue
            candidate.existing = user
        elif len(candidate.upn) > UPN_MAX:
            verdicts[number] = (ERROR, _("The address is too long for a guest's user principal name (at most "
                                         "%(max)s characters).") % {"max": UPN_MAX})
            continue
        elif candidate.upn.lower() in taken_upns:
            verdicts[number] = (ERROR, _("A user with this user principal name already exists in this tenant."))
            continue
        else:
            taken_upns.add(candidate.upn.lower())
        seen[email] = outcome.seen[email] = number
        invite.append(candidate)

    written = _create(context, invite)
    for row in chunk:
        if row.number in verdicts:
            outcome.add(row, *verdicts[row.number])
            continue
        result = written[row.number]
        # A link that went out by e-mail is not kept in the results: only the admin who must share a link
        # (no e-mail sent) gets it, in a download that is audited ("Read invite redeem URL").
        outcome.add(row, CREATED, result.reason, result.invitation.pk, "" if result.message_id else result.url)
        if result.message_id:
            outcome.outbox_ids.append(str(result.message_id))
    return outcome


def _create(context: JobContext, candidates: list[Candidate]) -> dict[int, Written]:
    """bulk_create what invitation_create writes for each candidate: row number -> what was written."""
    if not candidates:
        return {}
    tenant, actor, now = context.tenant, context.actor, timezone.now()
    users, identities, sponsors, invitations, events, messages = [], [], [], [], [], []
    notices: list[tuple[Invitation, str]] = []
    superseded: list = []
    skeletons: dict = {}  # the e-mail templates, rendered once per language for this chunk
    written: dict[int, Written] = {}
    for candidate in candidates:
        user = candidate.existing
        if user is None:
            user, identity = directory_services.build_guest_user(
                tenant=tenant, email=candidate.email, display_name=candidate.display_name,
                user_type=User.UserType.GUEST, now=now)
            users.append(user)
            identities.append(identity)
            if context.inviter is not None:
                sponsors.append(User.sponsors.through(from_user_id=user.pk, to_user_id=context.inviter.pk))
        status = invitation_status_for(user)
        if candidate.existing is not None and status == Invitation.Status.PENDING_ACCEPTANCE:
            superseded.append(user.pk)
        invitation, url = build_invitation(
            actor=actor, tenant=tenant, user=user, email=candidate.email, redirect_url=candidate.redirect_url,
            user_type=User.UserType.GUEST, send_message=candidate.send_message, message_body=candidate.message_body,
            message_language=candidate.message_language, cc=[], status=status, inviter=context.inviter,
            lifetime_days=context.settings.invitation_lifetime_days, now=now)
        invitations.append(invitation)
        message = None
        if candidate.send_message and candidate.automatic:
            notices.append((invitation, candidate.email))  # Entra: no invitation e-mail, a notice
        elif candidate.send_message:
            message = invitation_outbox_message(invitation, url, now=now, skeletons=skeletons)
            messages.append(message)
        # Every row of one job shares the job's id as correlation id.
        events.extend(invitation_audit_events(actor=actor, invitation=invitation, user_created=candidate.existing is None,
                                              now=now, correlation_id=context.job_id, initiator=context.initiated_by))
        written[candidate.row.number] = Written(
            invitation=invitation, url="" if status == Invitation.Status.COMPLETED else url,
            message_id=message.pk if message else None, reason=_reason(candidate, status, message is not None))
    if superseded:
        supersede_pending(superseded)  # before the new pending invitations exist
    User.objects.bulk_create(users)
    UserIdentity.objects.bulk_create(identities)
    User.sponsors.through.objects.bulk_create(sponsors)
    Invitation.objects.bulk_create(invitations)
    audit_save(events)  # with their search keys
    OutboxMessage.objects.bulk_create(messages)
    for invitation, email in notices:
        emails.automatic_redemption_notice(invitation=invitation, to=email)
    return written


def _reason(candidate: Candidate, status: str, sent: bool) -> str:
    user = candidate.existing
    if status == Invitation.Status.COMPLETED:
        what = _("Invitation completed at once: already a member of the organization's guests.")
        return f"{what} {_('Invitation e-mail queued.')}" if sent else what
    mail = _("Invitation e-mail queued.") if sent else _("No e-mail sent: share the redeem URL.")
    if candidate.automatic and candidate.send_message:
        mail = _("Both organizations redeem automatically: a notice e-mail was queued instead of the invitation.")
    if user is None:
        return mail
    if user.has_pending:
        what = _("Invitation created for an existing guest; the earlier invitation was replaced.")
    else:
        what = _("Invitation created for an existing guest.")
    return f"{what} {mail}"
