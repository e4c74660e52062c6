"""The demo's invitations (registered with ``directory.demo.register_demo_step``): the seeded pending
guest has a real invitation, so "Resend" in the console and the redemption link both work."""

from django.conf import settings
from django.urls import reverse

from directory.actors import Actor
from directory.models import User

from .models import Invitation
from .services import invitation_create


def invite_pending_guests(result: dict) -> None:
    """Lee Gu (Guest Inviter) invites each of Tailwind's pending guests that has no invitation yet,
    with a personal message; the e-mail waits in the outbox like any other."""
    tailwind = result["tenants"]["tailwind"]
    lee = User.objects.get(tenant=tailwind, user_principal_name=f"lee@{tailwind.initial_domain}")
    pending = User.objects.filter(tenant=tailwind, external_user_state=User.ExternalUserState.PENDING_ACCEPTANCE)
    for guest in pending.exclude(pk__in=Invitation.objects.filter(tenant=tailwind).values("invited_user")):
        invitation_create(
            actor=Actor.for_user(lee), tenant=tailwind, email=guest.mail,
            redirect_url=f"{settings.SITE_URL}{reverse('directory:panel', args=[tailwind.slug])}",
            display_name=guest.display_name, send_message=True,
            message_body="Welcome to the joint project! The Partner Portal has this quarter's plans.",
        )
    for guest in pending:
        result["accounts"].append({"email": guest.mail, "console": False, "what": (
            f"Guest of {tailwind.name}, invited, not redeemed yet (resend it from Invitations in the admin console)")})
