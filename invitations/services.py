"""Bringing people in: invite, resend, revoke, reset redemption, redeem. Asks policies first."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from directory import services as directory_services
from directory.actors import Actor, require_actor
from directory.audit import (
    Change,
    Target,
    audit,
    audit_batch,
    audit_event,
    audit_save,
    insert_with_audit,
    register_activities,
    register_target_type,
)
from directory.compiled import CompiledQuery
from directory.models import Account, Application, AppRoleAssignment, Domain, Group, Tenant, User, UserIdentity
from policies import evaluators
from policies.cross_tenant_access import AUTOMATIC_REDEMPTION
from policies.cross_tenant_access import automatic_redemption as cross_tenant_automatic_redemption
from policies.cross_tenant_access import invitation_decision as cross_tenant_invitation_decision
from policies.models import CollaborationSettings
from policies.selectors import collaboration_settings_for

from . import emails
from .models import Invitation
from .tokens import new_token
from .validation import normalize_invited_email, validate_redirect_url

logger = logging.getLogger(__name__)

CATEGORY = "UserManagement"
register_activities(CATEGORY, {
    "Invite external user": "Add", "Resend external user invite": "Update", "Revoke external user invite": "Update",
    "Reset user redemption status": "Update", "Redeem external user invite": "Update",
    "Read invite redeem URL": "Other", "Bulk invite external users": "Add",
})
register_target_type(Invitation, "Invitation")
RESEND_MIN_INTERVAL = timedelta(minutes=2)
RESEND_MAX_COUNT = 10
MAX_MESSAGE_BODY = 10_000
SUPERSEDED = "superseded by a newer invitation"
_DEFAULT = object()


class InvitationDenied(PermissionDenied):
    """The inviter may not invite (policy). ``code`` says why, for the API."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class RedemptionError(Exception):
    """The invitation cannot be redeemed; ``message`` is fit to show the guest."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class InvitationResult:
    invitation: Invitation
    redeem_url: str
    user_created: bool


# --- who invites ------------------------------------------------------------------------------


def inviter_context(actor: Actor) -> evaluators.Inviter:
    """Who is inviting, as the settings see it, from the authorization table: an administrator's roles
    grant ``User.ReadWrite.All`` in the tenant; a Guest Inviter's role grants ``User.Invite.All`` (the
    roles count whatever scopes a delegated token carries, as in Graph)."""
    if actor.is_platform:
        return evaluators.Inviter(is_admin=True)
    if actor.is_app_only:
        return evaluators.Inviter(is_app=True)
    if actor.user is None or not actor.capabilities:
        raise InvitationDenied("not_in_tenant", _("You are not a user of this organization."))
    return evaluators.Inviter(
        is_admin="User.ReadWrite.All" in actor.role_capabilities,
        is_guest_inviter="User.Invite.All" in actor.role_capabilities,
        is_guest=actor.is_guest,
    )


def check_inviter(*, tenant: Tenant, actor: Actor, settings=None) -> evaluators.Inviter:
    """Raise InvitationDenied unless this actor may invite guests to ``tenant``; return its context.
    ``settings``: the tenant's collaboration settings when the caller has read them already."""
    require_actor(actor)
    if not actor.acts_in(tenant.pk):
        raise InvitationDenied("not_in_tenant", _("You are not a user of this organization."))
    actor = actor.in_tenant(tenant)
    if not actor.can("User.Invite.All", tenant=tenant):
        raise InvitationDenied("not_allowed", _("You do not have permission to invite guests."))
    context = inviter_context(actor)
    decision = evaluators.evaluate_inviter(settings or collaboration_settings_for(tenant), context)
    if not decision:
        raise InvitationDenied(decision.code, decision.reasons[0])
    return context


def may_invite(*, actor: Actor, tenant: Tenant | None = None, settings=None) -> bool:
    """Whether ``actor`` may invite guests to ``tenant`` (default: its own): :func:`check_inviter`, the
    rule the admin console, the API and the access panel all apply, as a yes or no. ``settings``: the
    tenant's collaboration settings when the caller has them (the panel's per-process copy)."""
    tenant = tenant or actor.tenant
    if tenant is None:
        return False
    try:
        check_inviter(tenant=tenant, actor=actor, settings=settings)
    except InvitationDenied:
        return False
    return True


def check_grants(*, actor: Actor, groups, applications) -> None:
    """Who invites may grant only what they may manage: group memberships with
    ``GroupMember.ReadWrite.All`` (or as the group's owner), app assignments with
    ``AppRoleAssignment.ReadWrite.All`` (or as the app's owner)."""
    if any(not actor.can("GroupMember.ReadWrite.All", obj=g) for g in groups):
        raise InvitationDenied("grant_not_allowed", _("You may add guests only to groups you own."))
    if any(not actor.can("AppRoleAssignment.ReadWrite.All", obj=a) for a in applications):
        raise InvitationDenied("grant_not_allowed", _("You may assign guests only to applications you own."))


def tenant_owns_domain(tenant: Tenant, domain: str) -> bool:
    return domain == tenant.initial_domain or tenant.domains.filter(name=domain, is_verified=True).exists()


def redeem_url(invitation: Invitation, raw_token: str) -> str:
    return f"{django_settings.SITE_URL}/t/{invitation.tenant.slug}/invitations/{raw_token}/"


def default_redirect_url(tenant: Tenant) -> str:
    """Where a guest goes after redeeming when nobody said otherwise: the tenant's access panel."""
    return f"{django_settings.SITE_URL}/t/{tenant.slug}/"


def validate_invitee(*, settings, tenant: Tenant, own_domains: set[str], email: str, cross_tenant: bool = True,
                     outcome: dict | None = None) -> str:
    """The invited address, normalized, or a ValidationError: Graph's address rules, the tenant's domain
    allow/block list and cross-tenant access settings, and never one of the tenant's own domains. The single
    invite and bulk jobs share it (bulk jobs check cross-tenant settings for a whole chunk at once:
    ``cross_tenant=False`` here). ``outcome`` (a dict) learns whether both tenants redeem automatically."""
    email = _clean(normalize_invited_email, email, "email")
    decision = evaluators.evaluate_invitee_domain(settings, email)
    if decision and cross_tenant:
        decision = cross_tenant_invitation_decision(tenant=tenant, email=email)
        if outcome is not None:
            outcome["automatic_redemption"] = decision.code == AUTOMATIC_REDEMPTION
    if not decision:
        raise ValidationError({"email": decision.reasons[0]}, code=decision.code)
    if email.rsplit("@", 1)[1] in own_domains:
        raise ValidationError({"email": _("%(email)s is in this organization's own domain; add them as a member "
                                          "instead.") % {"email": email}}, code="own_domain")
    return email


def own_domains(tenant: Tenant, verified: list[str] | None = None) -> set[str]:
    """The tenant's own domains: its initial domain and its verified ones (``verified``: their names, when
    the caller has read them already)."""
    if verified is None:
        verified = [row["name"] for row in _verified_domains.run("verified", tenant=tenant.pk)]
    return {name.lower() for name in [tenant.initial_domain, *verified]}


def settings_and_own_domains(tenant: Tenant) -> tuple[CollaborationSettings, set[str]]:
    """The tenant's collaboration settings, read now as :func:`collaboration_settings_for` reads them, and
    :func:`own_domains`: what an invitation checks first, in one query on PostgreSQL (two elsewhere)."""
    if connection.vendor != "postgresql":
        return collaboration_settings_for(tenant), own_domains(tenant)
    rows = _settings_and_domains.run("both", tenant=tenant.pk)
    if not rows:  # the tenant is gone: the rules read as for a tenant without settings
        return collaboration_settings_for(tenant), own_domains(tenant)
    try:
        settings = rows[0].collaboration_settings
    except CollaborationSettings.DoesNotExist:  # never changed: the defaults (not saved)
        settings = CollaborationSettings(tenant=tenant)
    return settings, own_domains(tenant, verified=rows[0].verified_domain_names)


# The reads every invitation makes, compiled once per process (directory/compiled.py).
_verified_domains = CompiledQuery(lambda key, *, tenant: Domain.objects.filter(tenant_id=tenant, is_verified=True)
                                  .values("name"))
_settings_and_domains = CompiledQuery(lambda key, *, tenant: Tenant.objects.filter(pk=tenant)
                                     .select_related("collaboration_settings").annotate(
                                         verified_domain_names=ArraySubquery(Domain.objects.filter(
                                             tenant_id=OuterRef("pk"), is_verified=True).values("name"))))
_invitee_locked = CompiledQuery(lambda key, *, tenant, email: User.objects.select_for_update()
                                .filter(tenant_id=tenant).with_mail(email).order_by(*User._meta.ordering)[:1])


def validate_invitation_options(*, redirect_url: str, message_body: str, message_language: str
                                ) -> tuple[str, str, str]:
    """The redirect URL, personal message and language of an invitation, checked (the single invite and
    bulk jobs share it): ``(redirect_url, message_body, message_language)``; an unknown language
    becomes English, as in Graph."""
    redirect_url = _clean(validate_redirect_url, redirect_url, "redirect_url")
    if len(message_body) > MAX_MESSAGE_BODY:
        raise ValidationError({"message_body": _("The personal message is longer than 10,000 characters.")},
                              code="too_long")
    if message_language not in Invitation.Language.values:
        message_language = Invitation.Language.EN
    return redirect_url, message_body, message_language


def check_existing_invitee(user: User, email: str) -> None:
    """An invitation may reuse a guest that has the address, never a deleted user or a member."""
    if user.deleted_at:
        raise ValidationError({"email": _("A deleted user has this address; restore that user first.")},
                              code="deleted_user")
    if not user.external_user_state:
        raise ValidationError({"email": _("%(email)s already belongs to a user of this organization.")
                               % {"email": email}}, code="already_member")


def invitation_status_for(user: User) -> str:
    """A guest who has accepted before gets a completed invitation at once; anyone else a pending one."""
    if user.external_user_state == User.ExternalUserState.ACCEPTED:
        return Invitation.Status.COMPLETED
    return Invitation.Status.PENDING_ACCEPTANCE


def supersede_pending(user_ids) -> int:
    """Revoke the pending invitations of these users (one query): a newer invitation replaces them."""
    return Invitation.objects.filter(invited_user_id__in=list(user_ids),
                                     status=Invitation.Status.PENDING_ACCEPTANCE).update(
        status=Invitation.Status.REVOKED, status_reason=SUPERSEDED, revoked_at=timezone.now())


def build_invitation(*, actor: Actor, tenant: Tenant, user: User, email: str, redirect_url: str, user_type: str,
                     send_message: bool, message_body: str, message_language: str, cc: list[str], status: str,
                     inviter: User | None, lifetime_days: int | None, now) -> tuple[Invitation, str]:
    """The (unsaved) invitation and its redeem URL: one builder for the single invite and bulk jobs."""
    raw, digest = new_token()
    invitation = Invitation(
        tenant=tenant, invited_user=user, invited_email=email, invited_display_name=user.display_name,
        invited_user_type=user_type, redirect_url=redirect_url, send_message=send_message,
        message_body=message_body, message_language=message_language, cc_recipients=cc, status=status,
        token_hash=digest, invited_by=inviter, invited_by_account=actor.account, created_at=now,
        expires_at=(now + timedelta(days=lifetime_days)) if lifetime_days else None,
        redeemed_at=now if status == Invitation.Status.COMPLETED else None,
    )
    return invitation, redeem_url(invitation, raw)


def invitation_outbox_message(invitation: Invitation, url: str, *, now=None, skeletons: dict | None = None,
                              grants: tuple[str, ...] = ()):
    """The (unsaved) invitation e-mail, counted as one more send of ``invitation``. (A bulk job passes
    ``skeletons`` to render the templates once per chunk; see :func:`emails.invitation_message`.)
    ``grants``: the names of the groups and applications the guest is invited into, which it names."""
    subject, text, html = emails.invitation_message(invitation=invitation, redeem_url=url, skeletons=skeletons,
                                                    grants=grants)
    invitation.send_count += 1
    invitation.last_sent_at = now or timezone.now()
    return directory_services.outbox_message(
        tenant=invitation.tenant, to=[invitation.invited_email], cc=invitation.cc_recipients, subject=subject,
        body_text=text, body_html=html, dedupe_key=f"invitation:{invitation.pk}:{invitation.send_count}",
        secrets=[redeem_token_of(url)],  # the stored copy keeps /t/<slug>/invitations/[redacted]/ once sent
    )


def redeem_token_of(url: str) -> str:
    """The secret part of a redeem URL (``…/invitations/<token>/``)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def invitation_audit_events(*, actor: Actor, invitation: Invitation, user_created: bool, now, **options) -> list:
    """The (unsaved) audit rows an invitation writes: "Add user" for a new guest, "Invite external user"."""
    user = invitation.invited_user
    events = []
    if user_created:
        events.append(audit_event(tenant=invitation.tenant, actor=actor, activity="Add user", when=now,
                                  targets=[Target(user, [Change("userType", None, user.user_type)])], **options))
    events.append(audit_event(
        tenant=invitation.tenant, actor=actor, activity="Invite external user", when=now,
        targets=[Target(user, [Change("invitedUserEmailAddress", None, invitation.invited_email)])],
        details={"invitationId": invitation.pk, "sendInvitationMessage": invitation.send_message}, **options))
    return events


# --- invite -----------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *, actor: Actor, tenant: Tenant, email: str, redirect_url: str, display_name: str = "",
    user_type: str | None = None, send_message: bool = False, message_body: str = "",
    message_language: str = "en", cc_recipients: list[str] | tuple = (), groups=(), applications=(),
    expires_in_days=_DEFAULT, sponsors=None, link_shown_via: str = "", grant_now: bool = False,
) -> InvitationResult:
    """Invite a person: create (or reuse) the guest user object and a redeemable invitation.

    An accepted guest's invitation completes at once (its grants applied); a pending guest's earlier
    invitation is replaced. With ``send_message`` the invitation e-mail is queued in the outbox;
    without it the caller shares the returned ``redeem_url`` itself (and audits that it did, with
    :func:`invitation_redeem_url_read`). A caller that shows the link names its interface in
    ``link_shown_via``: the reading is then recorded in this transaction (the API does, saving a
    transaction block of its own around two calls).

    ``user_type`` (Guest or Member) is the type of a user this invitation creates (Guest when not given). An
    invitation never changes an existing user's type: asking for another one is refused, not ignored.

    ``sponsors`` (users of the tenant, at most :data:`MAX_SPONSORS`) sponsor a guest this invitation
    creates; without them the inviter does. An existing guest keeps its sponsors.

    ``groups`` and ``applications`` are granted when the invitation is redeemed; with ``grant_now`` they
    are granted at once, by the directory's services as the inviting actor (see
    :func:`invitation_create_with_grants`), and not kept on the invitation (so a membership an owner
    removes before the guest redeems stays removed).
    """
    # Read once, with the tenant's own domains: the inviter check and the invitee rules.
    settings, own = settings_and_own_domains(tenant)
    context = check_inviter(tenant=tenant, actor=actor, settings=settings)
    actor = actor.in_tenant(tenant)
    outcome: dict = {}
    email = validate_invitee(settings=settings, tenant=tenant, own_domains=own, email=email, outcome=outcome)
    redirect_url, message_body, message_language = validate_invitation_options(
        redirect_url=redirect_url, message_body=message_body, message_language=message_language)
    requested_type, user_type = user_type, user_type or User.UserType.GUEST
    if user_type not in User.UserType.values:
        raise ValidationError({"user_type": _("User type must be Guest or Member.")})
    # Graph: Member "only if the calling user is an administrator". An app's application permission was
    # granted by an administrator's consent, and Graph takes app-only Member invitations: so do we.
    if user_type == User.UserType.MEMBER and not (context.is_admin or context.is_app):
        raise InvitationDenied("member_requires_admin", _("Only administrators may invite external members."))
    cc = [_clean(normalize_invited_email, address, "cc_recipients") for address in cc_recipients]
    if len(cc) > 1:
        raise ValidationError({"cc_recipients": _("Only one cc recipient is supported.")})
    sponsors = _check_sponsors(tenant, sponsors)
    groups, applications = list(groups), list(applications)
    directory_services.ensure_same_tenant(tenant, groups, field="groups")
    directory_services.ensure_same_tenant(tenant, applications, field="applications")
    check_grants(actor=actor, groups=groups, applications=applications)

    with audit_batch():  # "Add user", "Invite external user" and "Read invite redeem URL" in one insert
        result = _invite(actor=actor, tenant=tenant, settings=settings, email=email, display_name=display_name,
                         user_type=user_type, requested_type=requested_type, sponsors=sponsors, redirect_url=redirect_url,
                         send_message=send_message, message_body=message_body, message_language=message_language,
                         cc=cc, groups=groups, applications=applications, expires_in_days=expires_in_days,
                         grant_now=grant_now, automatic=outcome.get("automatic_redemption", False))
        if link_shown_via:
            invitation_redeem_url_read(actor=actor, invitation=result.invitation, interface=link_shown_via)
    return result


def _invite(*, actor, tenant, settings, email, display_name, user_type, sponsors, redirect_url, send_message,
            message_body, message_language, cc, groups, applications, expires_in_days,
            grant_now=False, automatic=False, requested_type=None) -> InvitationResult:
    inviter = actor.user
    user, created = _guest_for(actor=actor, tenant=tenant, email=email, display_name=display_name,
                               user_type=user_type, inviter=inviter, sponsors=sponsors)
    if not created:
        check_type_unchanged(user, requested_type)
    status = invitation_status_for(user)
    if status == Invitation.Status.PENDING_ACCEPTANCE and not created:  # a new guest has no invitation yet
        supersede_pending([user.pk])
    if expires_in_days is _DEFAULT:
        expires_in_days = settings.invitation_lifetime_days
    now = timezone.now()
    invitation, url = build_invitation(
        actor=actor, tenant=tenant, user=user, email=email, redirect_url=redirect_url, user_type=user.user_type,
        send_message=send_message, message_body=message_body, message_language=message_language, cc=cc,
        status=status, inviter=inviter, lifetime_days=expires_in_days, now=now)
    grants = tuple(str(o) for o in [*groups, *applications])
    # Entra: where the invitee's home tenant (outbound) and this tenant (inbound) both redeem automatically,
    # the invitation e-mail is suppressed; the notice e-mail is sent instead.
    automatic = send_message and automatic
    message = (invitation_outbox_message(invitation, url, now=now, grants=grants)
               if send_message and not automatic else None)
    links = grant_now or groups or applications or status == Invitation.Status.COMPLETED
    if links:  # rows that point at the invitation follow: it must be in first
        invitation.save(force_insert=True)
    else:  # written with the audit rows at the end of the batch (one statement on PostgreSQL)
        insert_with_audit(invitation)
    if grant_now:
        _grant_as(actor=actor, user=user, groups=groups, applications=applications)
    else:
        if groups:  # a new invitation has no links yet: add, without reading the empty set first
            invitation.groups.add(*groups)
        if applications:
            invitation.applications.add(*applications)
        if status == Invitation.Status.COMPLETED:
            _grant(invitation=invitation, user=user)
    # "Add user" for a new guest was written by guest_user_create.
    audit_save(invitation_audit_events(actor=actor, invitation=invitation, user_created=False, now=now))
    if message is not None:
        insert_with_audit(message)  # with the audit rows, like the invitation (published after commit)
        directory_services.outbox_publish([message.pk])
    if automatic:
        emails.automatic_redemption_notice(invitation=invitation, to=email)
    return InvitationResult(invitation=invitation, redeem_url=url, user_created=created)



@transaction.atomic
def invitation_create_with_grants(
    *, actor: Actor, tenant: Tenant, email: str, groups=(), applications=(), display_name: str = "",
    message_body: str = "", message_language: str = "en",
) -> InvitationResult:
    """Invite a guest by e-mail into what the inviter owns, in one step and one transaction: the invitation
    (e-mailed through the outbox), and at once the guest's membership of ``groups`` and assignment to
    ``applications``, each granted by the directory's services *as the inviting actor* (so an owner grants
    only what it owns, an administrator what its roles allow). The group and app owners' pages and the
    panel's invite page call this; Graph's ``POST /invitations`` has no grants, so the API does not."""
    groups, applications = list(groups), list(applications)
    actor = require_actor(actor).in_tenant(tenant)
    check_grants(actor=actor, groups=groups, applications=applications)  # before anything is written
    return invitation_create(
        actor=actor, tenant=tenant, email=email, display_name=display_name,
        redirect_url=default_redirect_url(tenant), send_message=True, message_body=message_body,
        message_language=message_language, groups=groups, applications=applications, grant_now=True)


def invitation_redeem_url_read(*, actor: Actor, invitation: Invitation, interface: str) -> None:
    """Record that ``actor`` was shown an invitation's redeem URL (a credential: who saw it is on record).
    Every interface that shows a link calls this: the API, the admin console, the CLI, bulk results.
    Its one write is one statement (an atomic block around it would only add a savepoint): call it in the
    transaction that issued the link, so that the link and the record of its reading commit together."""
    require_actor(actor)
    details = {"invitationId": invitation.pk, "interface": interface}
    if actor.app is not None:
        details.update(appId=actor.app.client_id, appDisplayName=actor.app.display_name)
    audit(tenant=invitation.tenant, actor=actor.in_tenant(invitation.tenant), activity="Read invite redeem URL",
          targets=[Target(invitation.invited_user)], details=details)


def _delivered_form(address: str) -> str:
    """A stored address in the form an invitation's address is compared in (``normalize_invited_email``); one
    that rule refuses is compared as it is, lower-cased."""
    try:
        return normalize_invited_email(address)
    except ValidationError:
        return address.strip().lower()


def _clean(validator, value, field):
    try:
        return validator(value)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}, code=exc.code) from None


MAX_SPONSORS = 5  # Entra's limit of sponsors per user


def _check_sponsors(tenant: Tenant, sponsors) -> list[User] | None:
    if sponsors is None:
        return None
    sponsors = list(dict.fromkeys(sponsors))
    if len(sponsors) > MAX_SPONSORS:
        raise ValidationError({"sponsors": _("A guest can have at most %(max)s sponsors.") % {"max": MAX_SPONSORS}})
    directory_services.ensure_same_tenant(tenant, sponsors, field="sponsors")
    if any(sponsor.deleted_at for sponsor in sponsors):
        raise ValidationError({"sponsors": _("A deleted user cannot sponsor a guest.")})
    return sponsors


def _guest_for(*, actor, tenant, email, display_name, user_type, inviter, sponsors=None) -> tuple[User, bool]:
    existing = _invitee(tenant, email)
    if existing is not None:
        check_existing_invitee(existing, email)
        return existing, False
    try:
        guest = directory_services.guest_user_create(
            actor=actor, tenant=tenant, email=email, display_name=display_name, user_type=user_type,
            sponsors=sponsors if sponsors is not None else ([inviter] if inviter else []),
        )
    except ValidationError:
        # Refused because a concurrent invitation of the same address created the guest first (the insert waited
        # for it to commit, so it is visible now): this invitation reuses it, as one sent a moment later would.
        existing = _invitee(tenant, email)
        if existing is None:
            raise
        check_existing_invitee(existing, email)
        return existing, False
    return guest, True


def check_type_unchanged(user: User, requested_type: str | None) -> None:
    """An invitation of an existing user keeps its type: one that asks for the other type is refused (it would
    otherwise answer for a change that did not happen)."""
    if requested_type is not None and requested_type != user.user_type:
        raise ValidationError({"user_type": _(
            "%(user)s is a %(type)s already, and an invitation does not change a user's type; change the user's "
            "type instead.") % {"user": user.mail or user.user_principal_name, "type": user.user_type}},
            code="user_type_unchanged")


def _invitee(tenant: Tenant, email: str) -> User | None:
    """The tenant's user with this address, row-locked for the invitation (None when there is none)."""
    found = _invitee_locked.run("invitee", tenant=tenant.pk, texts={"email": (email or "").strip().lower()})
    return found[0] if found else None


def _queue_message(invitation: Invitation, url: str) -> None:
    message = invitation_outbox_message(invitation, url)
    invitation.save(update_fields=["send_count", "last_sent_at"])
    message.save(force_insert=True)
    directory_services.outbox_publish([message.pk])


# --- resend, revoke, reset ----------------------------------------------------------------------


@transaction.atomic
def invitation_resend(*, actor: Actor, invitation: Invitation) -> str:
    """Send the invitation again with a fresh link (the previous link stops working). Rate-limited."""
    invitation = Invitation.objects.select_for_update().select_related("tenant").get(pk=invitation.pk)
    check_inviter(tenant=invitation.tenant, actor=actor)
    actor = actor.in_tenant(invitation.tenant)
    if invitation.status != Invitation.Status.PENDING_ACCEPTANCE:
        raise ValidationError(_("Only pending invitations can be sent again."), code="not_pending")
    now = timezone.now()
    if invitation.last_sent_at and now - invitation.last_sent_at < RESEND_MIN_INTERVAL:
        wait = int((RESEND_MIN_INTERVAL - (now - invitation.last_sent_at)).total_seconds()) + 1
        raise ValidationError(_("This invitation was just sent. Try again in %(s)s seconds.") % {"s": wait},
                              code="rate_limited")
    if invitation.send_count >= RESEND_MAX_COUNT:
        raise ValidationError(_("This invitation was sent %(n)s times; revoke it and invite again.")
                              % {"n": invitation.send_count}, code="rate_limited")
    raw, invitation.token_hash = new_token()
    settings = collaboration_settings_for(invitation.tenant)
    if invitation.expires_at is not None and settings.invitation_lifetime_days:
        invitation.expires_at = now + timedelta(days=settings.invitation_lifetime_days)
    invitation.save(update_fields=["token_hash", "expires_at"])
    url = redeem_url(invitation, raw)
    _queue_message(invitation, url)
    audit(tenant=invitation.tenant, actor=actor, activity="Resend external user invite",
          targets=[Target(invitation.invited_user)], details={"invitationId": invitation.pk})
    return url


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation (who may invite may revoke, as with resending)."""
    invitation = Invitation.objects.select_for_update().select_related("tenant").get(pk=invitation.pk)
    check_inviter(tenant=invitation.tenant, actor=actor)
    actor = actor.in_tenant(invitation.tenant)
    if invitation.status != Invitation.Status.PENDING_ACCEPTANCE:
        raise ValidationError(_("Only pending invitations can be revoked."), code="not_pending")
    invitation.status = Invitation.Status.REVOKED
    invitation.status_reason = "revoked by an administrator"
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["status", "status_reason", "revoked_at"])
    audit(tenant=invitation.tenant, actor=actor, activity="Revoke external user invite",
          targets=[Target(invitation.invited_user, [Change("status", "PendingAcceptance", "Revoked")])],
          details={"invitationId": invitation.pk})
    return invitation


@transaction.atomic
def invitation_reset_redemption(
    *, actor: Actor, user: User, email: str, redirect_url: str, send_message: bool = False,
    message_body: str = "", message_language: str = "en", link_shown_via: str = "", user_type: str | None = None,
) -> InvitationResult:
    """Let an external user redeem again, maybe with another address. The user object, its memberships
    and assignments stay; the old sign-in and any old link stop working. Administrators (and apps
    allowed to invite) only, and never on a user who outranks the actor. ``link_shown_via`` as for
    :func:`invitation_create`; ``user_type``, when given, must be the user's (a reset keeps it)."""
    user = User.objects.select_for_update().select_related("tenant").get(pk=user.pk)
    tenant = user.tenant
    context = check_inviter(tenant=tenant, actor=actor)
    actor = actor.in_tenant(tenant)
    if not context.is_admin and not context.is_app:
        raise InvitationDenied("reset_requires_admin", _("Only administrators may reset a redemption."))
    if not actor.may_manage_user(user):
        if actor.is_app_only:
            raise InvitationDenied("reset_privileged_user", _("Apps may not reset the redemption of a user who "
                                                              "holds a directory role."))
        raise InvitationDenied("reset_privileged_user", _("%(user)s holds a more privileged role than you.")
                               % {"user": user.display_name})
    if not user.external_user_state:
        raise ValidationError(_("Only external users have a redemption to reset."), code="not_external")
    check_type_unchanged(user, user_type)
    email = _clean(normalize_invited_email, email, "email")
    redirect_url = _clean(validate_redirect_url, redirect_url, "redirect_url")
    known = {_delivered_form(m) for m in [user.mail, *user.other_mails] if m}
    if email not in known:
        raise ValidationError({"email": _("The new address must already be the user's mail or one of its other "
                                          "mails.")}, code="unknown_address")
    settings = collaboration_settings_for(tenant)
    decision = evaluators.evaluate_invitee_domain(settings, email)
    if not decision:
        raise ValidationError({"email": decision.reasons[0]}, code=decision.code)
    old = {"account": str(user.account_id) if user.account_id else None, "mail": user.mail,
           "externalUserState": user.external_user_state}
    if _delivered_form(user.mail) != email:
        if user.mail and _delivered_form(user.mail) not in {_delivered_form(m) for m in user.other_mails}:
            user.other_mails = [*user.other_mails, user.mail]
        user.other_mails = [m for m in user.other_mails if _delivered_form(m) != email]
        user.mail = email
    user.account = None
    user.external_user_state = User.ExternalUserState.PENDING_ACCEPTANCE
    user.external_user_state_changed_at = timezone.now()
    # Every sign-in made until now stops counting in this tenant (Graph's revokeSignInSessions): the old
    # browser sessions cannot consent again, the person proves the address anew.
    user.sign_in_sessions_valid_from = user.external_user_state_changed_at
    user.save()
    user.identities.all().delete()
    user.identities.create(sign_in_type=UserIdentity.SignInType.EMAIL_ADDRESS, issuer=tenant.initial_domain,
                           issuer_assigned_id=email)
    supersede_pending([user.pk])
    invitation, url = build_invitation(
        actor=actor, tenant=tenant, user=user, email=email, redirect_url=redirect_url, user_type=user.user_type,
        send_message=send_message, message_body=message_body, message_language=message_language, cc=[],
        status=Invitation.Status.PENDING_ACCEPTANCE, inviter=actor.user,
        lifetime_days=settings.invitation_lifetime_days, now=timezone.now())
    invitation.save(force_insert=True)
    audit(tenant=tenant, actor=actor, activity="Reset user redemption status",
          targets=[Target(user, [Change(k, v, getattr(user, {"account": "account_id", "mail": "mail",
                                                              "externalUserState": "external_user_state"}[k]))
                                 for k, v in old.items()])],
          details={"invitationId": invitation.pk})
    if send_message:
        _queue_message(invitation, url)
    if link_shown_via:
        invitation_redeem_url_read(actor=actor, invitation=invitation, interface=link_shown_via)
    return InvitationResult(invitation=invitation, redeem_url=url, user_created=False)


# --- redeem -----------------------------------------------------------------------------------


def redeemability_error(invitation: Invitation) -> RedemptionError | None:
    """Why this invitation cannot be redeemed now, or None. (Read-only; redeem re-checks under a lock.)"""
    if invitation.status == Invitation.Status.COMPLETED:
        return RedemptionError("already_redeemed", _("This invitation has already been redeemed."))
    if invitation.status == Invitation.Status.REVOKED:
        return RedemptionError("revoked", _("This invitation was withdrawn. Ask the person who invited you "
                                            "for a new one."))
    if invitation.status != Invitation.Status.PENDING_ACCEPTANCE:
        return RedemptionError("not_redeemable", _("This invitation cannot be redeemed."))
    if invitation.is_expired:
        return RedemptionError("expired", _("This invitation has expired. Ask the person who invited you for "
                                            "a new one."))
    decision = evaluators.evaluate_invitee_domain(collaboration_settings_for(invitation.tenant),
                                                  invitation.invited_email)
    if not decision:
        return RedemptionError("domain_blocked", _("%(org)s no longer accepts guests from your domain.")
                               % {"org": invitation.tenant.name})
    decision = cross_tenant_invitation_decision(tenant=invitation.tenant, email=invitation.invited_email)
    if not decision:
        return RedemptionError(decision.code, decision.reasons[0])
    if invitation.invited_user.deleted_at or not invitation.invited_user.account_enabled:
        return RedemptionError("user_blocked", _("This invitation cannot be redeemed."))
    return None


def invitation_redeem(*, actor: Actor, invitation: Invitation, method: str, issuer: str = "",
                      issuer_assigned_id: str = "") -> User:
    """Link the invited guest to the account (``actor.account``) that proved the invited address,
    exactly once. A federated redemption names the identity provider's ``issuer`` and the person's id
    there (Graph's ``identities``)."""
    account = require_actor(actor).account
    if account is None:
        raise PermissionDenied(_("Sign in to redeem an invitation."))
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update().select_related("tenant", "invited_user").get(pk=invitation.pk)
        )
        error = redeemability_error(invitation)
        if error:
            raise error
        if account.email.lower() != invitation.invited_email.lower():
            raise RedemptionError("wrong_account", _("This invitation is for another e-mail address."))
        user = User.objects.select_for_update().get(pk=invitation.invited_user_id)
        if User.objects.filter(tenant=invitation.tenant, account=account).exclude(pk=user.pk).exists():
            raise RedemptionError("already_in_tenant", _("You already have access to %(org)s with this account.")
                                  % {"org": invitation.tenant.name})
        now = timezone.now()
        user.account = account
        user.external_user_state = User.ExternalUserState.ACCEPTED
        user.external_user_state_changed_at = now
        user.save(update_fields=["account", "external_user_state", "external_user_state_changed_at", "updated_at"])
        user.identities.all().delete()
        if method == "code":
            user.identities.create(sign_in_type=UserIdentity.SignInType.EMAIL_ADDRESS, issuer="mail",
                                   issuer_assigned_id=account.email)
        else:
            user.identities.create(sign_in_type=UserIdentity.SignInType.FEDERATED,
                                   issuer=(issuer or "ExternalAzureAD")[:256],
                                   issuer_assigned_id=(issuer_assigned_id or str(account.pk))[:256])
        invitation.status = Invitation.Status.COMPLETED
        invitation.redeemed_at = now
        invitation.save(update_fields=["status", "redeemed_at"])
        EmailAddress.objects.filter(user=account, email__iexact=account.email).update(verified=True)
        _grant(invitation=invitation, user=user)
        audit(tenant=invitation.tenant, actor=Actor.for_user(user), activity="Redeem external user invite",
              targets=[Target(user, [Change("externalUserState", "PendingAcceptance", "Accepted")])],
              details={"invitationId": invitation.pk, "signInMethod": method})
        return user


@transaction.atomic
def invitation_redeem_automatically(*, actor: Actor, invitation: Invitation, method: str, issuer: str = "",
                                    issuer_assigned_id: str = "") -> User | None:
    """Redeem without the consent page when the resource tenant's inbound and the guest's home tenant's
    outbound automatic redemption are both on (cross-tenant access settings); None otherwise (consent is
    asked). A notice e-mail still tells the guest, in the invitation's language (Entra)."""
    account = require_actor(actor).account
    if account is None or not cross_tenant_automatic_redemption(tenant=invitation.tenant, account_id=account.pk):
        return None
    user = invitation_redeem(actor=actor, invitation=invitation, method=method, issuer=issuer,
                             issuer_assigned_id=issuer_assigned_id)
    emails.automatic_redemption_notice(invitation=invitation, to=account.email)
    return user


def _grant_as(*, actor: Actor, user: User, groups, applications) -> None:
    """Grant memberships and assignments as ``actor`` (whose right to each the directory services check)."""
    for group in groups:
        directory_services.group_member_add(actor=actor, group=group, user=user)
    assigned = set(AppRoleAssignment.objects.filter(user=user).values_list("application_id", flat=True))
    for app in applications:
        if app.pk not in assigned:
            directory_services.app_assignment_create(actor=actor, application=app, user=user)


def _grant(*, invitation: Invitation, user: User) -> None:
    """Apply an invitation's grants. The inviter's right to grant them was checked when inviting, so the
    platform applies them for the tenant."""
    actor = Actor.system(invitation.tenant, "Apply the grants of an invitation")
    for group in Group.objects.filter(pk__in=invitation.groups.values("pk")):
        directory_services.group_member_add(actor=actor, group=group, user=user)
    assigned = set(AppRoleAssignment.objects.filter(user=user).values_list("application_id", flat=True))
    for app in Application.objects.filter(pk__in=invitation.applications.values("pk")).exclude(pk__in=assigned):
        directory_services.app_assignment_create(actor=actor, application=app, user=user)


def guest_account_for(*, email: str) -> Account:
    """The account that will sign in with the invited address: an existing one, or a new one with an
    unusable password (never a blank one) and an unverified address that the e-mailed code verifies."""
    account = Account.objects.with_email(email).first()
    if account is None:
        try:
            with transaction.atomic():
                account = Account.objects.create_user(email, None)
        except IntegrityError:  # created by a concurrent request a moment ago
            account = Account.objects.with_email(email).get()
    EmailAddress.objects.get_or_create(user=account, email=account.email,
                                       defaults={"verified": False, "primary": True})
    return account
