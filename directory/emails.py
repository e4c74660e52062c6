"""What the directory's own e-mails say (the services decide who gets one: self-service requests and
decisions, a guest who left): in the tenant's branding and the recipient's language (English or German)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .selectors import branding_for

LANGUAGES = ("en", "de")


def language_of(user) -> str:
    language = (user.preferred_language or "en")[:2].lower()
    return language if language in LANGUAGES else "en"


def _branded(tenant, language: str) -> dict:
    branding = branding_for(tenant, language)
    return {
        "organization": tenant.name,
        "accent": (branding.accent_color if branding and branding.accent_color else "#0F6CBD"),
        "background": (branding.background_color if branding and branding.background_color else "#F5F5F5"),
        "logo_url": (f"{settings.SITE_URL}{branding.banner_logo.url}" if branding and branding.banner_logo else ""),
    }


def _render(name: str, language: str, context: dict) -> dict:
    with translation.override(language):
        subject = render_to_string(f"directory/email/{name}_subject_{language}.txt", context)
        text = render_to_string(f"directory/email/{name}_{language}.txt", context)
        html = render_to_string(f"directory/email/{name}_{language}.html", context)
    return {"subject": " ".join(subject.split()), "body_text": text, "body_html": html}


def request_message(*, request, recipient) -> dict:
    """To an approver: someone asks to join a group or for an application."""
    language = language_of(recipient)
    tenant = request.tenant
    context = {**_branded(tenant, language), "requester": request.requester.display_name,
               "requester_email": request.requester.mail or request.requester.user_principal_name,
               "target": str(request.target), "is_app": request.application_id is not None,
               "justification": request.justification,
               "url": f"{settings.SITE_URL}{reverse('directory:requests', args=[tenant.slug])}"}
    return _render("request", language, context)


def decision_message(*, request, recipient) -> dict:
    """To the requester: the request was approved or denied."""
    language = language_of(recipient)
    tenant = request.tenant
    context = {**_branded(tenant, language), "target": str(request.target), "is_app": request.application_id is not None,
               "approved": request.status == request.Status.APPROVED, "note": request.decision_note,
               "url": f"{settings.SITE_URL}{reverse('directory:panel', args=[tenant.slug])}"}
    return _render("request_decided", language, context)


def guest_left_message(*, guest, recipient, restore_until) -> dict:
    """To an admin of ``guest``'s tenant: the guest left it (and until when it can be restored)."""
    language = language_of(recipient)
    context = {**_branded(guest.tenant, language), "guest_name": guest.display_name,
               "guest_mail": guest.mail or guest.user_principal_name, "guest_upn": guest.user_principal_name,
               "restore_until": restore_until, "console_url": f"{settings.SITE_URL}/admin/"}
    return _render("guest_left", language, context)


def sponsor_notice_message(*, template: str, guest, recipient, context: dict, tenant=None) -> dict:
    """To a sponsor of ``guest``: a notice about the guest (``template``: a registered sponsor notice,
    ``<app>/email/<name>``, with ``_subject_<lang>.txt``, ``_<lang>.txt`` and ``_<lang>.html`` files)."""
    return SponsorNotices(template)(guest=guest, recipient=recipient, context=context, tenant=tenant)


#: Stand-ins for what differs between the notices of one batch (private-use characters: escaping leaves
#: them alone, and no name holds them), replaced in the rendered text.
_PERSONAL = {"guest_name": "\ue000g\ue000", "guest_mail": "\ue000m\ue000", "sponsor_name": "\ue000s\ue000"}


class SponsorNotices:
    """Renders one kind of sponsor notice for many (guest, sponsor) pairs: the templates once per tenant,
    language and context, the names and addresses filled in after (escaped for HTML), so that a sweep of
    thousands of guests renders a handful of templates, not three per message."""

    def __init__(self, template: str):
        self.template = template
        self._rendered: dict = {}

    def __call__(self, *, guest, recipient, context: dict, tenant=None) -> dict:
        from django.utils.html import escape

        language = language_of(recipient)
        tenant = tenant or guest.tenant
        key = (tenant.pk, language, tuple(sorted((k, str(v)) for k, v in context.items())))
        if key not in self._rendered:
            full = {**_branded(tenant, language), **_PERSONAL,
                    "url": f"{settings.SITE_URL}{reverse('directory:panel', args=[tenant.slug])}", **context}
            with translation.override(language):
                self._rendered[key] = {
                    "subject": render_to_string(f"{self.template}_subject_{language}.txt", full),
                    "body_text": render_to_string(f"{self.template}_{language}.txt", full),
                    "body_html": render_to_string(f"{self.template}_{language}.html", full)}
        values = {"guest_name": guest.display_name, "guest_mail": guest.mail or guest.user_principal_name,
                  "sponsor_name": recipient.display_name}
        message = {}
        for part, text in self._rendered[key].items():
            for name, stand_in in _PERSONAL.items():
                text = text.replace(stand_in, escape(values[name]) if part == "body_html" else values[name])
            message[part] = " ".join(text.split()) if part == "subject" else text
        return message
