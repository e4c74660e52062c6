"""``manage.py create_app_registration``: register an API client without the console, so a deployment
can be automated from its first minute.

    manage.py create_app_registration --tenant tailwind --name "HR sync" \\
        --permission User.ReadWrite.All --permission User.Invite.All

The same service as the admin console's *Add app registration* (directory.services.app_registration_create),
audited as the platform operator ("Add application"). Prints exactly one line of JSON,
``{"clientId": "…", "clientSecret": "…"}``: the secret is shown this once and stored only hashed.
"""

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from directory import services
from directory.actors import Actor
from directory.authz import APPLICATION_PERMISSIONS
from directory.models import Tenant

SECRET_LIFETIMES = (90, 180, 365, 730)  # the console's choices


class Command(BaseCommand):
    help = ("Register an API client of a tenant with Graph application permissions and print its client id and "
            "secret as one line of JSON.")

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's short name (as in /t/<short name>/).")
        parser.add_argument("--name", required=True, help="The app's display name.")
        parser.add_argument("--permission", action="append", default=[], metavar="NAME",
                            help="A Graph application permission, e.g. User.Invite.All (repeatable).")
        parser.add_argument("--secret-lifetime-days", type=int, default=180, choices=SECRET_LIFETIMES,
                            help="How long the client secret lives (default 180 days).")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the short name {options['tenant']!r}.")
        if not options["permission"]:
            raise CommandError("Give at least one --permission (a Graph application permission).")
        unknown = sorted(set(options["permission"]) - set(APPLICATION_PERMISSIONS))
        if unknown:
            raise CommandError(f"Unknown application permission {unknown[0]!r}. Known: "
                               f"{', '.join(sorted(APPLICATION_PERMISSIONS))}.")
        try:
            _registration, client_id, secret = services.app_registration_create(
                actor=Actor.operator(tenant=tenant), tenant=tenant, display_name=options["name"],
                application_permissions=options["permission"],
                secret_lifetime_days=options["secret_lifetime_days"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(json.dumps({"clientId": client_id, "clientSecret": secret}))
