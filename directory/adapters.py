"""allauth adapters: mail goes through the outbox; no open sign-up (guests come in by invitation)."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.urls import reverse

#: allauth's mail context values that are credentials: sign-in and verification codes, reset and
#: confirmation links and keys. The outbox strips them from its stored copy once the mail is sent.
SECRET_CONTEXT_KEYS = ("code", "key", "password_reset_url", "activate_url")


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Members are created by their admins; guests by invitation (self-service sign-up comes
        # through a tenant's user flow, not through the platform-wide sign-up form).
        return False

    def get_login_stages(self) -> list[str]:
        # allauth's stages, then those the apps above registered (directory.signin.register_login_stage).
        from .signin import login_stages

        return [*super().get_login_stages(), *login_stages()]

    def set_password(self, user, password) -> None:
        # Every password the person chooses through allauth (change, set, reset) ends a forced change
        # (directory/password_change.py); administrators set passwords through the services, not here.
        from .password_change import password_chosen

        super().set_password(user, password)
        password_chosen(user)

    def get_client_ip(self, request) -> str:
        # One rule for the client's address (TRUSTED_PROXIES, directory/net.py), for allauth's rate
        # limits too; unknown fails closed, as allauth's own does.
        from django.core.exceptions import PermissionDenied

        from .net import client_ip

        ip = client_ip(request)
        if not ip:
            raise PermissionDenied("Unable to determine client IP address")
        return ip

    def get_logout_redirect_url(self, request) -> str:
        # Signing out of a tenant's journey lands on that tenant's sign-in page (its panel sends the
        # anonymous visitor there), not on the platform's.
        from .signin import journey_tenant

        tenant = journey_tenant(request)
        if tenant is not None:
            return reverse("directory:panel", args=[tenant.slug])
        return super().get_logout_redirect_url(request)

    def logout(self, request) -> None:
        # Signing out ends the session, but the page it lands on is still the tenant's, in the language
        # the invitation chose: the journey's tenant and language survive it (its address does not).
        from .signin import JOURNEY_KEY

        journey = {k: v for k, v in (request.session.get(JOURNEY_KEY) or {}).items() if k in ("tenant", "language")}
        super().logout(request)
        if journey:
            request.session[JOURNEY_KEY] = journey

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        from .services import outbox_enqueue

        context = {**context, "email": email, **_journey_mail_context()}
        message = self.render_mail(template_prefix, email, context)
        html = ""
        for alternative, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                html = alternative
        if message.content_subtype == "html":
            html, text = message.body, _plain_fallback(template_prefix, context)
        else:
            text = message.body
        secrets = [str(context[key]) for key in SECRET_CONTEXT_KEYS if context.get(key)]
        outbox_enqueue(to=[email], subject=message.subject, body_text=text, body_html=html, secrets=secrets)


def _journey_mail_context() -> dict:
    """In a tenant's journey, allauth's mail (the sign-in code) names the organization and carries its
    logo and colour, like the invitation it follows."""
    from allauth.core import context as allauth_context
    from django.conf import settings
    from django.utils import translation

    from .selectors import branding_for
    from .signin import journey_tenant

    request = getattr(allauth_context, "request", None)
    tenant = journey_tenant(request) if request is not None else None
    if tenant is None:
        return {"organization": "", "accent": "#0F6CBD", "logo_url": ""}
    branding = branding_for(tenant, (translation.get_language() or "en")[:2])
    return {
        "organization": tenant.name,
        "accent": (branding.accent_color if branding and branding.accent_color else "#0F6CBD"),
        "logo_url": (f"{settings.SITE_URL}{branding.banner_logo.url}" if branding and branding.banner_logo else ""),
    }


def _plain_fallback(template_prefix: str, context: dict) -> str:
    try:
        return render_to_string(f"{template_prefix}_message.txt", context).strip()
    except TemplateDoesNotExist:
        return ""


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False
