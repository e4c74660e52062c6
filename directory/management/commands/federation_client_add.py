"""``manage.py federation_client_add``: let a tenant on another deployment sign in this deployment's members
(this deployment becomes its "partner deployment" identity provider).

    manage.py federation_client_add --partner-issuer https://portal.tailwind.example \\
        --partner-tenant-id 1f0c…  --partner-name "Tailwind Traders" \\
        --redirect-uri https://portal.tailwind.example/t/tailwind/federation/callback/

Prints one line of JSON, ``{"issuer": "…", "clientId": "…", "clientSecret": "…"}``: give these to the other
deployment's administrator (Identity providers → Partner deployment). The secret is shown this once.
Our members' home tenants decide with their outbound cross-tenant settings (partner: that issuer and
tenant id) whether they may go there.
"""

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from directory.actors import Actor
from directory.federation_clients import federation_client_register


class Command(BaseCommand):
    help = "Register another deployment's tenant as a client of this deployment's identity provider."

    def add_arguments(self, parser):
        parser.add_argument("--partner-issuer", required=True, help="The other deployment's address (its issuer).")
        parser.add_argument("--partner-tenant-id", required=True, help="The partner tenant's id there.")
        parser.add_argument("--partner-name", required=True, help="The partner organization's name.")
        parser.add_argument("--redirect-uri", action="append", required=True, metavar="URL",
                            help="The other deployment's callback URL (repeatable).")

    def handle(self, *args, **options):
        try:
            client_id, secret = federation_client_register(
                actor=Actor.operator(), partner_issuer=options["partner_issuer"],
                partner_tenant_id=options["partner_tenant_id"], partner_name=options["partner_name"],
                redirect_uris=options["redirect_uri"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(json.dumps({"issuer": settings.SITE_URL, "clientId": client_id, "clientSecret": secret}))
