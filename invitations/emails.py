"""What an invitation e-mail says (the service decides who gets one)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from directory.selectors import branding_for


def invitation_message(*, invitation, redeem_url: str) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the invitation, in the invitation's language."""
    language = invitation.message_language or "en"
    tenant = invitation.tenant
    branding = branding_for(tenant, language)
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "organization": tenant.name,
        "inviter_name": inviter.display_name if inviter else tenant.name,
        "inviter_email": (inviter.mail or inviter.user_principal_name) if inviter else "",
        "message": invitation.message_body,
        "redeem_url": redeem_url,
        "privacy_url": tenant.privacy_statement_url,
        "accent": (branding.accent_color if branding and branding.accent_color else "#0F6CBD"),
        "background": (branding.background_color if branding and branding.background_color else "#F5F5F5"),
        "logo_url": (f"{settings.SITE_URL}{branding.banner_logo.url}" if branding and branding.banner_logo else ""),
        "already_redeemed": invitation.status == invitation.Status.COMPLETED,
    }
    with translation.override(language):
        subject = render_to_string(f"invitations/email/invitation_subject_{language}.txt", context).strip()
        text = render_to_string(f"invitations/email/invitation_{language}.txt", context)
        html = render_to_string(f"invitations/email/invitation_{language}.html", context)
    return " ".join(subject.split()), text, html
