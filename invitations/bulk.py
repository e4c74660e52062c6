"""Bulk invitations: read an uploaded CSV, then invite its rows in set-based chunks.

Every row is checked with the rules of :func:`invitations.services.invitation_create` (the same
validators and policy evaluators; the inviter once per job) and, when it passes, produces the same
data as a single invite: a guest ``User`` with a ``#EXT#`` UPN, pending acceptance, created by
invitation, the inviter as sponsor, an e-mail identity, an ``Invitation`` with a hashed token and an
expiry, the same audit rows and, when asked, the invitation e-mail in the outbox. Instead of a few
queries per row, a chunk of rows costs a fixed number of queries (look-ups for the whole chunk, then
``bulk_create`` per table), in one transaction together with the job's progress and results. A bad
row becomes an error line in the results and never stops or half-writes the others.

A job resumes where its last committed chunk ended, so a worker that dies or runs out of time
(see ``invitations.tasks``) loses nothing and invites nobody twice.

Rules for the file, beyond the single invite's:

- UTF-8 text (with or without BOM), at most ``MAX_UPLOAD_BYTES``, at most ``MAX_ROWS`` rows.
- The first row names the columns (Entra's template, with its ``version:v1.0`` line, works as is).
  Only the e-mail address is required; an empty redirect URL means the tenant's access panel, an
  empty "send message" means the job's default (send).
- An address that already has a guest user in the tenant (or that appeared in an earlier row) is
  reported "already invited" and not invited again: running a file twice sends nobody two e-mails.
"""

import csv
import io
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from directory import services as directory_services
from directory.actors import Actor
from directory.audit import Change, Target, audit, audit_event
from directory.models import AuditEvent, OutboxMessage, Tenant, User, UserIdentity
from directory.queue import publish, publish_on_commit
from policies import evaluators
from policies.selectors import collaboration_settings_for

from . import emails
from .models import BulkInvitationJob, BulkInvitationResultChunk, Invitation
from .services import InvitationDenied, check_inviter, redeem_url
from .tokens import new_token
from .validation import normalize_invited_email, validate_redirect_url

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
CHUNK_SIZE = 500
MAX_MESSAGE = 10_000
UPN_MAX = User._meta.get_field("user_principal_name").max_length
DISPLAY_NAME_MAX = User._meta.get_field("display_name").max_length

# Column -> accepted header names, compared without case, spaces, underscores and hyphens. Entra's
# template names its columns like "Email address to invite [inviteeEmail] Required": the name in
# brackets is what counts there.
COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "inviteeemail", "invitedemail", "invitedemailaddress",
              "inviteduseremailaddress", "emailaddresstoinvite"),
    "display_name": ("displayname", "name", "inviteddisplayname", "inviteduserdisplayname", "inviteedisplayname"),
    "redirect_url": ("redirecturl", "inviteredirecturl", "redirectionurl"),
    "send_message": ("sendmessage", "sendemail", "sendinvitationmessage", "sendinvitation"),
    "message_body": ("custommessage", "customizedmessagebody", "custominvitationmessage",
                     "customizedinvitationmessage", "message", "messagebody", "personalmessage"),
    "message_language": ("language", "messagelanguage"),
}
REQUIRED_COLUMNS = ("email",)
COLUMN_LABELS = {
    "email": "email", "display_name": "display name", "redirect_url": "redirect URL",
    "send_message": "send message", "message_body": "custom message", "message_language": "language",
}
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
_TRUE = {"true", "yes", "y", "1", "on", "wahr", "ja"}
_FALSE = {"false", "no", "n", "0", "off", "falsch", "nein"}

PROCESS_TASK = "invitations.process_bulk_invitation"
RESULT_HEADER = ("row", "email", "result", "reason", "invitation id", "redeem url")
CREATED = "created"
ALREADY_INVITED = "already invited"
ERROR = "error"


# --- reading the file -------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceRow:
    number: int  # the row's number as a spreadsheet shows it (the header is row 1)
    values: dict[str, str]


@dataclass(frozen=True)
class ParsedSource:
    columns: dict[str, str]  # column -> header text as written in the file
    rows: list[SourceRow]


def decode_upload(data: bytes) -> str:
    """The uploaded bytes as text, or a ValidationError that says what is wrong with them."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is %(size)s MB; upload at most %(max)s MB.")
            % {"size": f"{len(data) / 1024 / 1024:.1f}", "max": MAX_UPLOAD_BYTES // 1024 // 1024}, code="too_large")
    if not data.strip():
        raise ValidationError(_("The file is empty."), code="empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _("The file is not UTF-8 text: line %(line)s has a byte (%(byte)s) that UTF-8 does not allow. Save it "
              "as “CSV UTF-8” and upload it again.")
            % {"line": data.count(b"\n", 0, exc.start) + 1, "byte": f"0x{data[exc.start]:02X}"},
            code="encoding") from None
    if "\x00" in text:
        raise ValidationError(_("The file is not a text file: it contains NUL characters."), code="not_text")
    return text


def _header_key(name: str) -> str:
    name = name.strip()
    if "[" in name and "]" in name.split("[", 1)[1]:
        name = name.split("[", 1)[1].split("]", 1)[0]
    return "".join(ch for ch in name.lower() if ch not in " _-\t")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def parse_source(text: str) -> ParsedSource:
    """The header and the data rows of a bulk invite file; ValidationError for a file we cannot use."""
    lines = text.lstrip("\ufeff").splitlines()
    first = next((line for line in lines if line.strip() and not line.lower().startswith("version:")), "")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=_delimiter(first))
    header: list[str] | None = None
    index: dict[str, int] = {}
    rows: list[SourceRow] = []
    number = 0
    try:
        for record in reader:
            number += 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                if record[0].strip().lower().startswith("version:") and len(record[0].strip()) < 20:
                    continue  # Entra's template starts with "version:v1.0"
                header = record
                index = _columns(header)
                continue
            if record[0].strip().lower().startswith("example:"):
                continue  # Entra's template may carry an example row; no address starts with "Example:"
            rows.append(SourceRow(number, {
                column: (record[i].strip() if i < len(record) else "") for column, i in index.items()}))
            if len(rows) > MAX_ROWS:
                raise ValidationError(_("The file has more than %(max)s rows; split it into smaller files.")
                                      % {"max": f"{MAX_ROWS:,}"}, code="too_many_rows")
    except csv.Error as exc:
        raise ValidationError(_("Row %(row)s cannot be read as CSV: %(error)s.")
                              % {"row": reader.line_num, "error": exc}, code="bad_csv") from None
    if header is None:
        raise ValidationError(_("The file is empty."), code="empty")
    if not rows:
        raise ValidationError(_("The file has a header but no rows to invite."), code="no_rows")
    return ParsedSource(columns={column: header[i].strip() for column, i in index.items()}, rows=rows)


def _columns(header: list[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        column = _ALIASES.get(_header_key(name))
        if column is None:
            continue  # extra columns are allowed and ignored
        if column in index:
            raise ValidationError(_("The columns “%(a)s” and “%(b)s” both mean %(column)s; keep one of them.")
                                  % {"a": header[index[column]].strip(), "b": name.strip(),
                                     "column": COLUMN_LABELS[column]}, code="duplicate_column")
        index[column] = position
    missing = [COLUMN_LABELS[c] for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        found = ", ".join(f"“{name.strip()[:60]}”" for name in header[:6] if name.strip()) or _("nothing")
        raise ValidationError(
            _("The first row must name the columns; it has no %(missing)s column (found %(found)s). Expected "
              "columns: email (required), display name, redirect URL, send message, custom message — or Entra's "
              "bulk invite template.") % {"missing": ", ".join(missing), "found": found}, code="missing_columns")
    return index


def default_redirect_url(tenant: Tenant) -> str:
    """Where a guest goes after redeeming when nobody said otherwise: the tenant's access panel."""
    return f"{django_settings.SITE_URL}/t/{tenant.slug}/"


# --- creating a job ---------------------------------------------------------------------------


@transaction.atomic
def bulk_invitation_job_create(
    *, actor: Actor, tenant: Tenant, file_name: str, source: str, enqueue: bool = True,
) -> BulkInvitationJob:
    """Store an uploaded file as a job and (with ``enqueue``) start a worker on it after commit.

    Raises ValidationError for a file that cannot be used and InvitationDenied when the actor may not
    invite to this tenant; nothing is written then.
    """
    parsed = parse_source(source)
    check_inviter(tenant=tenant, actor=actor)
    job = BulkInvitationJob.objects.create(
        tenant=tenant, created_by=actor.account, run_as_platform=actor.is_platform,
        file_name=(file_name or "upload.csv")[:256], source=source,
        total_rows=len(parsed.rows), results=_csv_lines([RESULT_HEADER]),
    )
    audit(tenant=tenant, actor=actor.in_tenant(tenant), activity="Bulk invite external users",
          targets=[Target(tenant)],
          details={"bulkInvitationJobId": job.pk, "fileName": job.file_name, "rows": job.total_rows})
    if enqueue:
        publish_on_commit(PROCESS_TASK, str(job.pk))
    return job


def publish_bulk_invitation_job(job_id) -> None:
    """Start (or continue) a stored job on a worker now; if the broker is down, "process again" in the
    admin does."""
    publish(PROCESS_TASK, str(job_id))


# --- processing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkDefaults:
    """Values for a row's empty cells (the admin's jobs use these; the CLI passes its options)."""

    send_message: bool = True
    redirect_url: str = ""  # empty: the tenant's access panel
    message_body: str = ""
    message_language: str = Invitation.Language.EN


@dataclass
class _Job:
    """What every chunk of one job needs, loaded once."""

    job_id: uuid.UUID
    tenant: Tenant
    actor: Actor
    inviter: User | None
    settings: object
    own_domains: set[str]
    initiated_by: dict
    defaults: BulkDefaults
    default_redirect: str
    seen: dict[str, int] = field(default_factory=dict)  # address -> row that invited (or found) it


@dataclass
class _Outcome:
    lines: list[tuple] = field(default_factory=list)
    outbox_ids: list[str] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: {CREATED: 0, ALREADY_INVITED: 0, ERROR: 0})

    def add(self, row: SourceRow, result: str, reason: str = "", invitation_id="", url: str = "") -> None:
        self.lines.append((row.number, row.values.get("email", ""), result, reason, str(invitation_id or ""), url))
        self.counts[result] += 1


@dataclass
class _Candidate:
    row: SourceRow
    email: str
    display_name: str
    redirect_url: str
    send_message: bool
    message_body: str
    message_language: str
    upn: str = ""


def bulk_invitation_job_process(
    *, job_id, defaults: BulkDefaults = BulkDefaults(), chunk_size: int = CHUNK_SIZE, time_budget: float | None = None,
) -> BulkInvitationJob:
    """Invite the job's rows that are not processed yet, one committed chunk at a time.

    Idempotent: a finished job is left alone and a half-done one continues after its last committed
    chunk. With ``time_budget`` (seconds) it stops after the chunk that exceeds it and leaves the job
    ``running``; calling it again continues.
    """
    started = time.monotonic()
    job = BulkInvitationJob.objects.defer("results").select_related("tenant", "created_by").get(pk=job_id)
    if job.state in (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED):
        return _reload(job)
    BulkInvitationJob.objects.filter(pk=job.pk, state=BulkInvitationJob.State.QUEUED).update(
        state=BulkInvitationJob.State.RUNNING, started_at=timezone.now())
    try:
        rows = parse_source(job.source).rows
    except ValidationError as exc:  # checked at upload; only a file stored some other way gets here
        _finish(job.pk, BulkInvitationJob.State.FAILED, " ".join(exc.messages))
        return _reload(job)
    try:
        context = _load_job(job, defaults)
    except InvitationDenied as exc:
        _fail_remaining(job, rows, exc.message)
        return _reload(job)
    while not _process_next_chunk(context, rows, chunk_size):
        if time_budget is not None and time.monotonic() - started > time_budget:
            return _reload(job)
    _finish(job.pk, BulkInvitationJob.State.FINISHED)
    return _reload(job)


def _reload(job: BulkInvitationJob) -> BulkInvitationJob:
    return BulkInvitationJob.objects.defer("source", "results").get(pk=job.pk)


def _load_job(job: BulkInvitationJob, defaults: BulkDefaults) -> _Job:
    tenant = Tenant.objects.prefetch_related("brandings").get(pk=job.tenant_id)
    if job.created_by is None and not job.run_as_platform:
        raise InvitationDenied("uploader_gone", "The account that uploaded this file no longer exists.")
    actor = (Actor.for_account(job.created_by, tenant) if job.created_by is not None
             else Actor.operator(tenant=tenant))
    check_inviter(tenant=tenant, actor=actor)  # once per job (and per resumption)
    inviter = actor.user
    own = {tenant.initial_domain.lower()}
    own.update(d.lower() for d in tenant.domains.filter(is_verified=True).values_list("name", flat=True))
    return _Job(
        job_id=job.pk, tenant=tenant, actor=actor, inviter=inviter, settings=collaboration_settings_for(tenant),
        own_domains=own, initiated_by=actor.initiated_by(),
        defaults=defaults, default_redirect=defaults.redirect_url or default_redirect_url(tenant),
    )


def _fail_remaining(job: BulkInvitationJob, rows: list[SourceRow], reason: str) -> None:
    with transaction.atomic():
        locked = BulkInvitationJob.objects.select_for_update().only("id", "processed_rows").get(pk=job.pk)
        remaining = rows[locked.processed_rows:]
        outcome = _Outcome()
        for row in remaining:
            outcome.add(row, ERROR, reason)
        _save_progress(job.pk, locked.processed_rows, outcome)
        _finish(job.pk, BulkInvitationJob.State.FAILED, reason)


@transaction.atomic
def _finish(job_id, state: str, failure: str = "") -> None:
    """End the job: its result chunks become the one results CSV, written once."""
    job = BulkInvitationJob.objects.select_for_update().only("id", "state", "results").get(pk=job_id)
    if job.state in (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED):
        return
    chunks = BulkInvitationResultChunk.objects.filter(job_id=job_id)
    results = job.results + "".join(chunks.order_by("first_row").values_list("lines", flat=True))
    BulkInvitationJob.objects.filter(pk=job_id).update(state=state, failure=failure, results=results,
                                                       finished_at=timezone.now())
    chunks.delete()


def _process_next_chunk(context: _Job, rows: list[SourceRow], chunk_size: int) -> bool:
    """Invite the next chunk and record it, in one transaction. True when no rows are left."""
    with transaction.atomic():
        job = BulkInvitationJob.objects.select_for_update().only("id", "processed_rows").get(pk=context.job_id)
        start = job.processed_rows
        chunk = rows[start:start + chunk_size]
        if not chunk:
            return True
        try:
            with transaction.atomic():
                outcome = _invite(context, chunk)
        except Exception:
            # A conflict with a concurrent write (or a bug) in the set-based path: nothing of it was
            # written. Row by row, each in its own savepoint, isolates the row that cannot be invited.
            logger.warning("Bulk invitation job %s: chunk at row %s retried row by row", context.job_id,
                           chunk[0].number, exc_info=True)
            outcome = _invite_one_by_one(context, chunk)
        _save_progress(context.job_id, start, outcome)
        directory_services.outbox_publish(outcome.outbox_ids)
    context.seen.update(outcome.seen)
    return start + len(chunk) >= len(rows)


def _invite_one_by_one(context: _Job, chunk: list[SourceRow]) -> _Outcome:
    outcome = _Outcome()
    for row in chunk:
        try:
            with transaction.atomic():
                single = _invite(context, [row], seen_before=outcome.seen)
        except Exception:
            logger.exception("Bulk invitation job %s: row %s could not be invited", context.job_id, row.number)
            outcome.add(row, ERROR, _("This row could not be invited because of a conflict with a change made at "
                                      "the same time, or an internal error; nothing was written for it. Try it "
                                      "again."))
            continue
        outcome.lines.extend(single.lines)
        outcome.outbox_ids.extend(single.outbox_ids)
        outcome.seen.update(single.seen)
        for key, value in single.counts.items():
            outcome.counts[key] += value
    return outcome


def _save_progress(job_id, start: int, outcome: _Outcome) -> None:
    # The unique (job, first_row) also refuses a chunk recorded twice, should two workers ever race.
    if outcome.lines:
        BulkInvitationResultChunk.objects.create(job_id=job_id, first_row=start, lines=_csv_lines(outcome.lines))
    BulkInvitationJob.objects.filter(pk=job_id).update(
        processed_rows=start + len(outcome.lines),
        created_count=F("created_count") + outcome.counts[CREATED],
        existing_count=F("existing_count") + outcome.counts[ALREADY_INVITED],
        error_count=F("error_count") + outcome.counts[ERROR],
    )


# --- one chunk --------------------------------------------------------------------------------


def _validate(context: _Job, row: SourceRow) -> _Candidate:
    """The row as invitation_create would take it, or ValidationError with the reason."""
    values = row.values
    email = normalize_invited_email(values.get("email", ""))
    redirect = validate_redirect_url(values.get("redirect_url") or context.default_redirect)
    send = values.get("send_message", "").strip().lower()
    if send and send not in _TRUE | _FALSE:
        raise ValidationError(_("Send message must be true or false, not “%(value)s”.") % {"value": send[:20]})
    body = values.get("message_body") or context.defaults.message_body
    if len(body) > MAX_MESSAGE:
        raise ValidationError(_("The personal message is longer than 10,000 characters."))
    language = (values.get("message_language") or "").strip().lower() or context.defaults.message_language
    if language not in Invitation.Language.values:
        language = Invitation.Language.EN  # as invitation_create does
    decision = evaluators.evaluate_invitee_domain(context.settings, email)
    if not decision:
        raise ValidationError(decision.reasons[0])
    if email.rsplit("@", 1)[1] in context.own_domains:
        raise ValidationError(_("%(email)s is in this organization's own domain; add them as a member instead.")
                              % {"email": email})
    return _Candidate(
        row=row, email=email, display_name=(values.get("display_name") or email.split("@")[0])[:DISPLAY_NAME_MAX],
        redirect_url=redirect, send_message=(send in _TRUE) if send else context.defaults.send_message,
        message_body=body, message_language=language,
        upn=directory_services.guest_user_principal_name(email=email, tenant=context.tenant),
    )


def _invite(context: _Job, chunk: list[SourceRow], seen_before: dict[str, int] | None = None) -> _Outcome:
    """Invite the rows of one chunk with a fixed number of queries. Call inside a transaction."""
    verdicts: dict[int, tuple[str, str]] = {}  # row number -> (result, reason) for rows not created
    valid: list[_Candidate] = []
    for row in chunk:
        try:
            valid.append(_validate(context, row))
        except ValidationError as exc:
            verdicts[row.number] = (ERROR, " ".join(exc.messages))
    tenant = context.tenant
    existing, taken_upns = {}, set()
    if valid:
        existing = {
            user.mail.lower(): user for user in User.objects.filter(tenant=tenant).exclude(mail="")
            .annotate(mail_lower=Lower("mail")).filter(mail_lower__in={c.email for c in valid})
            .only("id", "mail", "deleted_at", "external_user_state")
        }
        taken_upns = set(
            User.objects.filter(tenant=tenant).annotate(upn_lower=Lower("user_principal_name"))
            .filter(upn_lower__in={c.upn.lower() for c in valid}).values_list("upn_lower", flat=True)
        )

    outcome = _Outcome()
    seen = {**context.seen, **(seen_before or {})}
    new: list[_Candidate] = []
    for candidate in valid:
        email, number = candidate.email, candidate.row.number
        user = existing.get(email)
        if email in seen:
            verdicts[number] = (ALREADY_INVITED, _("Also in row %(row)s of this file.") % {"row": seen[email]})
        elif user is not None and user.deleted_at:
            verdicts[number] = (ERROR, _("A deleted user has this address; restore that user first."))
        elif user is not None and not user.external_user_state:
            verdicts[number] = (ERROR, _("%(email)s already belongs to a user of this organization.")
                                % {"email": email})
        elif user is not None:
            seen[email] = outcome.seen[email] = number
            verdicts[number] = (ALREADY_INVITED, _(
                "A guest with this address is already in the directory (%(state)s); resend from the invitations "
                "list if needed.") % {"state": user.get_external_user_state_display()})
        elif len(candidate.upn) > UPN_MAX:
            verdicts[number] = (ERROR, _("The address is too long for a guest's user principal name (at most "
                                         "%(max)s characters).") % {"max": UPN_MAX})
        elif candidate.upn.lower() in taken_upns:
            verdicts[number] = (ERROR, _("A user with this user principal name already exists in this tenant."))
        else:
            seen[email] = outcome.seen[email] = number
            taken_upns.add(candidate.upn.lower())
            new.append(candidate)

    created = _create(context, new)
    for row in chunk:
        if row.number in verdicts:
            outcome.add(row, *verdicts[row.number])
            continue
        invitation, url, message_id = created[row.number]
        outcome.add(row, CREATED, _("Invitation e-mail queued.") if message_id
                    else _("No e-mail sent: share the redeem URL."), invitation.pk, url)
        if message_id:
            outcome.outbox_ids.append(str(message_id))
    return outcome


def _create(context: _Job, new: list[_Candidate]) -> dict[int, tuple[Invitation, str, uuid.UUID | None]]:
    """bulk_create what invitation_create writes for each new guest: row number -> (invitation, redeem URL,
    outbox message id or None)."""
    if not new:
        return {}
    tenant, now = context.tenant, timezone.now()
    lifetime = context.settings.invitation_lifetime_days
    users, identities, sponsors, invitations, events, messages = [], [], [], [], [], []
    created: dict[int, tuple[Invitation, str, uuid.UUID | None]] = {}
    for candidate in new:
        user = User(
            tenant=tenant, user_type=User.UserType.GUEST, display_name=candidate.display_name,
            user_principal_name=candidate.upn, mail=candidate.email, creation_type=User.CreationType.INVITATION,
            external_user_state=User.ExternalUserState.PENDING_ACCEPTANCE, external_user_state_changed_at=now,
        )
        users.append(user)
        identities.append(UserIdentity(user=user, sign_in_type=UserIdentity.SignInType.EMAIL_ADDRESS,
                                       issuer=tenant.initial_domain, issuer_assigned_id=candidate.email))
        if context.inviter is not None:
            sponsors.append(User.sponsors.through(from_user_id=user.pk, to_user_id=context.inviter.pk))
        raw, digest = new_token()
        invitation = Invitation(
            tenant=tenant, invited_user=user, invited_email=candidate.email, invited_display_name=user.display_name,
            invited_user_type=User.UserType.GUEST, redirect_url=candidate.redirect_url,
            send_message=candidate.send_message, message_body=candidate.message_body,
            message_language=candidate.message_language, cc_recipients=[],
            status=Invitation.Status.PENDING_ACCEPTANCE, token_hash=digest, invited_by=context.inviter,
            invited_by_account=context.actor.account, created_at=now,
            expires_at=(now + timedelta(days=lifetime)) if lifetime else None,
        )
        invitations.append(invitation)
        url = redeem_url(invitation, raw)
        events.append(_event(context, "Add user", now, [Target(user, [Change("userType", None, user.user_type)])]))
        events.append(_event(context, "Invite external user", now,
                             [Target(user, [Change("invitedUserEmailAddress", None, candidate.email)])],
                             {"invitationId": invitation.pk, "sendInvitationMessage": candidate.send_message}))
        message_id = None
        if candidate.send_message:
            invitation.send_count, invitation.last_sent_at = 1, now
            subject, text, html = emails.invitation_message(invitation=invitation, redeem_url=url)
            message = OutboxMessage(
                tenant=tenant, to=[candidate.email], cc=[], subject=subject[:998], body_text=text, body_html=html,
                dedupe_key=f"invitation:{invitation.pk}:1", from_email=django_settings.DEFAULT_FROM_EMAIL,
            )
            messages.append(message)
            message_id = message.pk
        created[candidate.row.number] = (invitation, url, message_id)
    User.objects.bulk_create(users)
    UserIdentity.objects.bulk_create(identities)
    User.sponsors.through.objects.bulk_create(sponsors)
    Invitation.objects.bulk_create(invitations)
    AuditEvent.objects.bulk_create(events)
    OutboxMessage.objects.bulk_create(messages)
    return created


def _event(context: _Job, activity: str, when, targets: list[Target], details: dict | None = None) -> AuditEvent:
    # The same row audit() writes; every row of one job shares the job's id as correlation id.
    return audit_event(tenant=context.tenant, actor=context.actor, activity=activity, targets=targets, when=when,
                       details=details, correlation_id=context.job_id, initiator=context.initiated_by)


# --- results ----------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value) -> str:
    # A cell that a spreadsheet would run as a formula is written as text.
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _csv_lines(lines: Iterable[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in lines:
        writer.writerow([_csv_safe(cell) for cell in line])
    return buffer.getvalue()


def results_csv(job_id) -> str:
    """The results CSV so far: complete once the job has ended, the committed chunks while it runs."""
    jobs = BulkInvitationJob.objects.filter(pk=job_id).values_list("state", "results")
    state, results = jobs.get()
    if state in (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED):
        return results
    lines = "".join(BulkInvitationResultChunk.objects.filter(job_id=job_id).values_list("lines", flat=True))
    if not lines:  # the job may have ended (and its chunks become ``results``) between the two reads
        state, ended = jobs.get()
        if state in (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED):
            return ended
    return results + lines


def results_rows(job_id) -> list[dict[str, str]]:
    """The job's results as dicts (for the CLI and tests)."""
    return list(csv.DictReader(io.StringIO(results_csv(job_id), newline="")))
