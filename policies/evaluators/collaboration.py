"""Pure decisions: no I/O, no writes. Views and services only translate a Decision into a response."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ..models import CollaborationSettings

AIF = CollaborationSettings.AllowInvitesFrom
GA = CollaborationSettings.GuestAccess


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...] = ()
    code: str = ""  # machine-readable, e.g. "invitations_disabled"

    def __bool__(self) -> bool:
        return self.allowed

    @classmethod
    def allow(cls) -> "Decision":
        return cls(True)

    @classmethod
    def deny(cls, code: str, reason: str) -> "Decision":
        return cls(False, (reason,), code)


@dataclass(frozen=True)
class Inviter:
    """Who is inviting, as far as the settings care."""

    is_admin: bool = False  # Global Administrator or User Administrator
    is_guest_inviter: bool = False
    is_guest: bool = False
    is_app: bool = False  # an app-only (client credentials) call
    roles: frozenset = field(default_factory=frozenset)


def evaluate_inviter(settings: CollaborationSettings, inviter: Inviter) -> Decision:
    """May this inviter invite guests at all (Graph ``allowInvitesFrom``)?"""
    level = settings.allow_invites_from
    if level == AIF.NONE:
        return Decision.deny("invitations_disabled", _("This organization does not allow anyone to invite guests."))
    if inviter.is_app:
        # Graph: app-only invitations fail when invitations are limited to admins.
        if level == AIF.ADMINS_AND_GUEST_INVITERS:
            return Decision.deny("invitations_limited_to_admins",
                                 _("Only admins and Guest Inviters may invite guests in this organization."))
        return Decision.allow()
    if inviter.is_admin or inviter.is_guest_inviter:
        return Decision.allow()
    if level == AIF.ADMINS_AND_GUEST_INVITERS:
        return Decision.deny("invitations_limited_to_admins",
                             _("Only admins and Guest Inviters may invite guests in this organization."))
    if inviter.is_guest and level != AIF.EVERYONE:
        return Decision.deny("guests_cannot_invite", _("Guests may not invite other guests in this organization."))
    return Decision.allow()


def domain_matches(domain: str, pattern: str) -> bool:
    domain, pattern = domain.lower(), pattern.lower()
    if pattern.startswith("*."):
        return domain.endswith(pattern[1:])
    return domain == pattern


def evaluate_invitee_domain(settings: CollaborationSettings, email: str) -> Decision:
    """May a person with this address be invited (or redeem a pending invitation)?"""
    domain = email.rsplit("@", 1)[-1].lower()
    listed = any(domain_matches(domain, p) for p in settings.domains)
    if settings.domain_list_type == CollaborationSettings.DomainListType.ALLOW and not listed:
        return Decision.deny("domain_not_allowed",
                             _("Invitations to %(domain)s are not allowed by this organization.") % {"domain": domain})
    if settings.domain_list_type == CollaborationSettings.DomainListType.BLOCK and listed:
        return Decision.deny("domain_blocked",
                             _("Invitations to %(domain)s are blocked by this organization.") % {"domain": domain})
    return Decision.allow()


def guest_sees_directory(settings: CollaborationSettings) -> bool:
    """Same access as members: a guest may list the directory's users and groups."""
    return settings.guest_user_role_id == GA.SAME_AS_MEMBERS


def guest_sees_group_members(settings: CollaborationSettings) -> bool:
    """Limited (default) and above: a guest may see who else is in the groups it belongs to."""
    return settings.guest_user_role_id in (GA.SAME_AS_MEMBERS, GA.LIMITED)


def evaluate_guest_leave(settings: CollaborationSettings) -> Decision:
    """May external users leave this organization on their own (External user leave settings)?"""
    if not settings.guests_can_leave:
        return Decision.deny("leave_disabled", _("This organization does not let external users leave on their own."))
    return Decision.allow()
