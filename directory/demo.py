"""The demo organisations, built through the same services as everything else (idempotent).

What the layers above add to the demo (the pending guest's invitation) they register with
:func:`register_demo_step` from their ``AppConfig.ready()``: the directory never names them.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse

from . import services
from .actors import Actor
from .models import Account, Application, AppRoleAssignment, Branding, Group, Role, RoleAssignment, Tenant, User

DEMO_PASSWORD = "Tailwind-Demo-2026!"  # printed for the demo on purpose


@dataclass(frozen=True)
class Person:
    display_name: str
    local: str
    job_title: str
    role: Role | None = None


TENANTS = {
    "tailwind": ("Tailwind Traders", "tailwindtraders.example", "https://tailwindtraders.example/privacy"),
    "proseware": ("Proseware", "proseware.example", "https://proseware.example/privacy"),
}
MEMBERS = {
    "tailwind": [
        Person("Tailwind Admin", "admin", "IT administrator", Role.GLOBAL_ADMINISTRATOR),
        Person("Adele Vance", "adele", "User administrator", Role.USER_ADMINISTRATOR),
        Person("Megan Bowen", "megan", "Marketing manager"),
        Person("Lee Gu", "lee", "Project lead", Role.GUEST_INVITER),
    ],
    "proseware": [
        Person("Proseware Admin", "admin", "IT administrator", Role.GLOBAL_ADMINISTRATOR),
        Person("Giovanna Carvalho", "gcarvalho", "Consultant"),
        Person("Alex Wilber", "alex", "Designer"),
    ],
}
# The demo apps launch a page the project serves itself (directory.views.demo_app): the demo's domains
# do not resolve.
APPS = [
    ("Partner Portal", "Shared plans and documents for partners.", "#0F6CBD"),
    ("Expense Reports", "Submit and approve expenses.", "#107C10"),
    ("Project Tracker", "Milestones and tasks for joint projects.", "#C239B3"),
]
# Company branding: banner colour, page accent and background, sign-in page text.
BRANDING = {
    "tailwind": ("#038387", "#F0F7F7", "Tailwind Traders partners: sign in with the address your invitation went to."),
    "proseware": ("#8764B8", "#F7F5FB", "Proseware staff and partners sign in here."),
}

_demo_steps: list[Callable[[dict], None]] = []


def register_demo_step(step: Callable[[dict], None]) -> None:
    """``step(result)`` runs at the end of :func:`seed_demo`, in its transaction, with what it built
    (``result["tenants"]``, ``result["accounts"]``: rows of ``email``, ``what``, ``console``); it must be
    idempotent and may add accounts to print."""
    if step not in _demo_steps:
        _demo_steps.append(step)


def demo_launch_url(tenant: Tenant, app_name: str) -> str:
    """The demo app's page on this deployment (``SITE_URL``). A launch URL must be a URL with a real host
    name; where ``SITE_URL`` has none (the tests' ``http://testserver``) the page is on localhost."""
    from django.core.exceptions import ValidationError
    from django.core.validators import URLValidator

    path = reverse("directory:demo_app", args=[tenant.slug, app_name.lower().replace(" ", "-")])
    try:
        URLValidator(schemes=["http", "https"])(f"{settings.SITE_URL}{path}")
    except ValidationError:
        return f"http://localhost{path}"
    return f"{settings.SITE_URL}{path}"


def _banner(name: str, colour: str) -> ContentFile:
    """A wide logo with the organisation's initials and name, for the branded pages' header."""
    from PIL import Image, ImageDraw

    width, height = 360, 64
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 4, height - 9, height - 5), radius=12, fill=colour)
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    box = draw.textbbox((0, 0), initials, font_size=26)
    draw.text(((height - 8 - (box[2] - box[0])) / 2 - box[0], (height - (box[3] - box[1])) / 2 - box[1]),
              initials, fill="#ffffff", font_size=26)
    box = draw.textbbox((0, 0), name, font_size=30)
    draw.text((height + 6, (height - (box[3] - box[1])) / 2 - box[1]), name, fill=colour, font_size=30)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name=f"{name.lower().replace(' ', '-')}-banner.png")


def _brand(tenant: Tenant) -> None:
    accent, background, text = BRANDING[tenant.slug]
    if Branding.objects.filter(tenant=tenant, locale="").exists():
        return
    services.branding_save(actor=Actor.operator(), branding=Branding(
        tenant=tenant, locale="", accent_color=accent, background_color=background, sign_in_page_text=text,
        banner_logo=_banner(tenant.name, accent)))


def _logo(name: str, colour: str) -> ContentFile:
    from PIL import Image, ImageDraw

    size = 96
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=18, fill=colour)
    initials = "".join(word[0] for word in name.split()[:2]).upper()
    box = draw.textbbox((0, 0), initials, font_size=40)
    position = ((size - (box[2] - box[0])) / 2 - box[0], (size - (box[3] - box[1])) / 2 - box[1])
    draw.text(position, initials, fill="#ffffff", font_size=40)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name=f"{name.lower().replace(' ', '-')}.png")


@transaction.atomic
def seed_demo() -> dict:
    tenants: dict[str, Tenant] = {}
    for slug, (name, domain, privacy) in TENANTS.items():
        tenant = Tenant.objects.filter(slug=slug).first() or services.tenant_create(
            actor=Actor.operator(), name=name, slug=slug, initial_domain=domain, privacy_statement_url=privacy)
        tenants[slug] = tenant
        _brand(tenant)
        for person in MEMBERS[slug]:
            upn = f"{person.local}@{domain}"
            user = User.objects.filter(tenant=tenant, user_principal_name__iexact=upn).first()
            if user is None:
                given, _, surname = person.display_name.partition(" ")
                user = services.user_create(
                    actor=Actor.operator(), tenant=tenant, display_name=person.display_name, user_principal_name=upn,
                    mail=upn, given_name=given, surname=surname, job_title=person.job_title,
                    company_name=name, creation_type="", password=DEMO_PASSWORD,
                )
            if person.role and not RoleAssignment.objects.filter(user=user, role=person.role).exists():
                services.role_assign(actor=Actor.operator(), user=user, role=person.role)
                Account.objects.filter(pk=user.account_id).update(is_staff=True)

    tailwind, proseware = tenants["tailwind"], tenants["proseware"]
    guests = []
    for local, accepted in (("gcarvalho", True), ("alex", False)):
        email = f"{local}@{proseware.initial_domain}"
        home = User.objects.get(tenant=proseware, user_principal_name=email)
        upn = services.guest_user_principal_name(email=email, tenant=tailwind)
        guest = User.objects.filter(tenant=tailwind, user_principal_name__iexact=upn).first()
        if guest is None:
            guest = services.user_create(
                actor=Actor.operator(), tenant=tailwind, user_type=User.UserType.GUEST, display_name=home.display_name,
                user_principal_name=upn, mail=email, company_name=proseware.name,
                creation_type=User.CreationType.INVITATION,
                external_user_state=(User.ExternalUserState.ACCEPTED if accepted
                                     else User.ExternalUserState.PENDING_ACCEPTANCE),
                account=home.account if accepted else None,
                sponsors=[User.objects.get(tenant=tailwind, user_principal_name=f"lee@{tailwind.initial_domain}")],
            )
            if accepted:
                guest.identities.create(sign_in_type="federated", issuer="ExternalAzureAD",
                                        issuer_assigned_id=str(home.pk))
        guests.append(guest)

    tw_members = {u.user_principal_name.split("@")[0]: u for u in User.objects.filter(tenant=tailwind).members()}
    groups = {}
    for name, description, members in (
        ("Partner Projects", "Everyone working on joint projects with partners.",
         [tw_members["megan"], tw_members["lee"], *guests]),
        ("Finance", "Finance and expense approvers.", [tw_members["adele"]]),
    ):
        group = Group.objects.filter(tenant=tailwind, display_name=name).first() or services.group_create(
            actor=Actor.operator(), tenant=tailwind, display_name=name, description=description, members=members,
            owners=[tw_members["lee"]])
        groups[name] = group

    for name, description, colour in APPS:
        app = Application.objects.filter(tenant=tailwind, display_name=name).first()
        url = demo_launch_url(tailwind, name)
        if app is None:
            app = services.application_create(
                actor=Actor.operator(), tenant=tailwind, display_name=name, description=description, launch_url=url,
                logo=_logo(name, colour), owners=[tw_members["lee"]])
        elif app.launch_url != url:  # a demo seeded before the apps launched a local page, or on another host
            services.application_update(actor=Actor.operator(), application=app, changes={"launch_url": url})
    apps = {a.display_name: a for a in Application.objects.filter(tenant=tailwind)}
    for app_name, principal in (
        ("Partner Portal", groups["Partner Projects"]),
        ("Project Tracker", groups["Partner Projects"]),
        ("Expense Reports", groups["Finance"]),
        ("Expense Reports", tw_members["megan"]),
    ):
        kind = "user" if isinstance(principal, User) else "group"
        if not AppRoleAssignment.objects.filter(application=apps[app_name], **{kind: principal}).exists():
            services.app_assignment_create(actor=Actor.operator(), application=apps[app_name], **{kind: principal})
    _seed_self_service(tailwind, groups, apps, tw_members)
    result = {"tenants": tenants, "password": DEMO_PASSWORD, "accounts": _accounts(tenants)}
    for step in _demo_steps:
        step(result)
    return result


def _seed_self_service(tailwind: Tenant, groups: dict, apps: dict, members: dict) -> None:
    """Self-service in Tailwind's access panel (docs/self-service.md): owners decide join requests, members
    may create groups, Finance takes requests, Project Tracker may be requested (Lee Gu approves)."""
    operator = Actor.operator(tenant=tailwind)
    services.tenant_group_settings_update(actor=operator, tenant=tailwind, changes={
        "owners_manage_join_requests": True, "members_can_create_security_groups": True})
    services.group_update(actor=operator, group=groups["Finance"],
                          changes={"members_can_join": True, "join_requires_approval": True})
    services.application_update(actor=operator, application=apps["Project Tracker"], changes={
        "self_service_enabled": True, "self_service_requires_approval": True,
        "self_service_approvers": [members["lee"]]})


def _accounts(tenants: dict[str, Tenant]) -> list[dict]:
    """Every demo account that signs in, with what it is where (for ``manage.py seed_demo`` to print)."""
    rows = []
    for slug, tenant in tenants.items():
        for person in MEMBERS[slug]:
            upn = f"{person.local}@{tenant.initial_domain}"
            role = f"{person.role.label}" if person.role else "Member"
            rows.append({"email": upn, "what": f"{role} of {tenant.name}", "console": person.role is not None})
    tailwind, proseware = tenants["tailwind"], tenants["proseware"]
    rows.append({"email": f"gcarvalho@{proseware.initial_domain}", "console": False,
                 "what": f"Guest of {tailwind.name} (redeemed; signs in with her {proseware.name} account)"})
    return rows
