"""What an invitation e-mail says (the service decides who gets one)."""

import re

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import conditional_escape

from directory.selectors import branding_for

# The context values that differ from one invitation to the next of the same inviter, tenant and
# language. Templates only print them (and test ``message`` for emptiness), so a bulk job renders each
# template once with markers in their place and fills the markers in per row (see ``skeletons``).
_SLOTS = ("message", "redeem_url", "open_url")
_MARK = {slot: f"\ue000{slot}\ue001" for slot in _SLOTS}
_MARKS = re.compile("\ue000(" + "|".join(_SLOTS) + ")\ue001")



def _context(invitation, redeem_url: str, grants: tuple[str, ...] = ()) -> dict:
    language = invitation.message_language or "en"
    tenant = invitation.tenant
    branding = branding_for(tenant, language)
    inviter = invitation.invited_by
    return {
        "organization": tenant.name,
        "inviter_name": inviter.display_name if inviter else tenant.name,
        "inviter_email": (inviter.mail or inviter.user_principal_name) if inviter else "",
        "message": invitation.message_body,
        "redeem_url": redeem_url,
        "open_url": invitation.redirect_url,
        "expires_at": invitation.expires_at,
        "privacy_url": tenant.privacy_statement_url,
        "accent": (branding.accent_color if branding and branding.accent_color else "#0F6CBD"),
        "background": (branding.background_color if branding and branding.background_color else "#F5F5F5"),
        "logo_url": (f"{settings.SITE_URL}{branding.banner_logo.url}" if branding and branding.banner_logo else ""),
        "already_redeemed": invitation.status == invitation.Status.COMPLETED,
        "grants": tuple(grants),  # the groups and applications the guest is invited into
    }


def _render(language: str, context: dict) -> tuple[str, str, str]:
    with translation.override(language):
        subject = render_to_string(f"invitations/email/invitation_subject_{language}.txt", context)
        text = render_to_string(f"invitations/email/invitation_{language}.txt", context)
        html = render_to_string(f"invitations/email/invitation_{language}.html", context)
    return subject, text, html


#: The skeletons of the invitations this process sends one by one (an API or console invitation), by the
#: same key as a bulk chunk's: every context value but the slots is in it, so a tenant's changed name,
#: branding or privacy link, another inviter or language gets a skeleton of its own. Emptied when full.
_SKELETONS: dict = {}
_SKELETONS_MAX = 512


def invitation_message(*, invitation, redeem_url: str, skeletons: dict | None = None,
                       grants: tuple[str, ...] = ()) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the invitation, in the invitation's language.

    ``skeletons`` (a dict the caller keeps, e.g. for one chunk of a bulk job) caches the rendered
    templates per language and fixed context: the same bytes as rendering each message (see
    :func:`rendered_message`), without rendering three templates per row. Without it the process's own
    cache is used.
    """
    language = invitation.message_language or "en"
    context = _context(invitation, redeem_url, grants)
    if skeletons is None:
        skeletons = _SKELETONS
        if len(skeletons) >= _SKELETONS_MAX:
            skeletons.clear()
    # The templates print the expiry only as a date (test_emails checks their formats): invitations expiring
    # on the same day, in the zone the templates print it in, share a skeleton.
    expires_on = timezone.template_localtime(context["expires_at"]).date() if context["expires_at"] else None
    key = (language, timezone.get_current_timezone_name(), expires_on,
           tuple((k, v) for k, v in context.items() if k not in _MARK and k != "expires_at"),
           tuple(bool(context[slot]) for slot in _SLOTS))
    skeleton = skeletons.get(key)
    if skeleton is None:
        skeleton = skeletons[key] = _render(
            language, {**context, **{slot: _MARK[slot] if context[slot] else "" for slot in _SLOTS}})
    plain = {slot: str(context[slot] or "") for slot in _SLOTS}
    escaped = {slot: str(conditional_escape(context[slot] or "")) for slot in _SLOTS}
    subject, text, html = (
        _MARKS.sub(lambda m: plain[m[1]], skeleton[0]),
        _MARKS.sub(lambda m: plain[m[1]], skeleton[1]),
        _MARKS.sub(lambda m: escaped[m[1]], skeleton[2]),
    )
    return " ".join(subject.split()), text, html


def rendered_message(*, invitation, redeem_url: str, grants: tuple[str, ...] = ()) -> tuple[str, str, str]:
    """:func:`invitation_message` rendered from the templates with this invitation's own values (what
    every skeleton must give)."""
    subject, text, html = _render(invitation.message_language or "en", _context(invitation, redeem_url, grants))
    return " ".join(subject.split()), text, html


def automatic_redemption_notice(*, invitation, to: str) -> None:
    """Queue the notice Entra still sends when automatic redemption skipped consent."""
    from directory.services.outbox import outbox_enqueue

    language = invitation.message_language if invitation.message_language in ("en", "de") else "en"
    context = _context(invitation, "")
    with translation.override(language):
        subject = render_to_string(f"invitations/email/automatic_redemption_subject_{language}.txt", context).strip()
        text = render_to_string(f"invitations/email/automatic_redemption_{language}.txt", context)
    outbox_enqueue(to=[to], subject=subject, body_text=text, tenant=invitation.tenant,
                   dedupe_key=f"automatic-redemption:{invitation.pk}")
