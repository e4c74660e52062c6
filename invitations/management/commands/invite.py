"""``manage.py invite``: invite external users from the command line (operators, scripts).

    manage.py invite --tenant tailwind --email ann@proseware.example --no-send
    manage.py invite --tenant tailwind --csv guests.csv --inviter admin@tailwindtraders.example

With ``--email`` (repeatable) each address goes through invitation_create and its redemption link is
printed (``address<TAB>link``). With ``--csv`` the file is a bulk invitation job (the same rules and
results as the admin console's bulk invite), processed at once; its results CSV is printed. The exit
status is non-zero when the input is unusable or any address or row was not invited.
"""

import argparse
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from directory.actors import Actor
from directory.models import Tenant, User
from invitations import bulk
from invitations.link_audit import bulk_results_redeem_urls_read
from invitations.models import BulkInvitationJob, Invitation
from invitations.services import InvitationDenied, default_redirect_url, invitation_create, invitation_redeem_url_read
from invitations.validation import validate_redirect_url


class Command(BaseCommand):
    help = "Invite external users to a tenant, by address or from a CSV file, and print the redemption links."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="The tenant's short name (as in /t/<short name>/).")
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--email", action="append", metavar="ADDRESS", help="An address to invite (repeatable).")
        target.add_argument("--csv", dest="csv_path", metavar="FILE",
                            help="A CSV file like the admin console's bulk invite (email, display name, …).")
        parser.add_argument("--redirect-url", default="",
                            help="Where guests go after redeeming (default: the tenant's access panel).")
        parser.add_argument("--display-name", default="", help="Display name (with a single --email).")
        parser.add_argument("--send", action=argparse.BooleanOptionalAction, default=True,
                            help="Send the invitation e-mail (default) or not (--no-send: share the printed link).")
        parser.add_argument("--message", default="", help="A personal message in the e-mail.")
        parser.add_argument("--language", default=Invitation.Language.EN, choices=Invitation.Language.values,
                            help="Language of the e-mail.")
        parser.add_argument("--inviter", default="", metavar="ADDRESS",
                            help="Invite as this user of the tenant (mail or user principal name); default: the "
                                 "platform itself, which acts as an administrator.")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with the short name {options['tenant']!r}.")
        actor = self._inviter(tenant, options["inviter"])
        if options["redirect_url"]:
            try:
                validate_redirect_url(options["redirect_url"])
            except ValidationError as exc:
                raise CommandError(f"--redirect-url: {' '.join(exc.messages)}") from None
        if options["csv_path"]:
            self._invite_file(tenant, actor, Path(options["csv_path"]), options)
        else:
            self._invite_addresses(tenant, actor, options["email"], options)

    def _inviter(self, tenant: Tenant, address: str) -> Actor:
        if not address:
            return Actor.operator(tenant=tenant)
        user = (
            User.objects.active().filter(tenant=tenant, account__isnull=False)
            .filter(Q(mail__iexact=address) | Q(user_principal_name__iexact=address)).select_related("account").first()
        )
        if user is None:
            raise CommandError(f"{address!r} is not a user of {tenant.name} who can sign in; use --inviter with the "
                               "address of one, or leave it out to invite as the platform.")
        return Actor.for_user(user)

    def _invite_addresses(self, tenant, actor, addresses: list[str], options) -> None:
        if options["display_name"] and len(addresses) > 1:
            raise CommandError("--display-name goes with a single --email.")
        failed = 0
        for address in addresses:
            try:
                result = invitation_create(
                    actor=actor, tenant=tenant, email=address,
                    redirect_url=options["redirect_url"] or default_redirect_url(tenant),
                    display_name=options["display_name"], send_message=options["send"],
                    message_body=options["message"], message_language=options["language"],
                )
            except InvitationDenied as exc:
                raise CommandError(exc.message) from None
            except ValidationError as exc:
                failed += 1
                self.stderr.write(f"{address}: {' '.join(exc.messages)}")
                continue
            invitation_redeem_url_read(actor=actor, invitation=result.invitation, interface="Command line")
            self.stdout.write(f"{result.invitation.invited_email}\t{result.redeem_url}")
        if failed:
            raise CommandError(f"{failed} of {len(addresses)} addresses were not invited (see above).")

    def _invite_file(self, tenant, actor, path: Path, options) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror or exc}") from None
        try:
            source = bulk.decode_upload(data)
            job = bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name=path.name, source=source,
                                                  enqueue=False)
        except ValidationError as exc:
            raise CommandError(f"{path}: {' '.join(exc.messages)}") from None
        except InvitationDenied as exc:
            raise CommandError(exc.message) from None
        defaults = bulk.BulkDefaults(send_message=options["send"], redirect_url=options["redirect_url"],
                                     message_body=options["message"], message_language=options["language"])
        job = bulk.bulk_invitation_job_process(job_id=job.pk, defaults=defaults)
        results = bulk.results_csv(job.pk)
        bulk_results_redeem_urls_read(actor=actor, job=job, results_csv=results, interface="Command line")
        self.stdout.write(results, ending="")
        self.stderr.write(f"{job.total_rows} rows: {job.created_count} created, {job.existing_count} already "
                          f"invited, {job.error_count} errors.")
        if job.state == BulkInvitationJob.State.FAILED:
            raise CommandError(job.failure)
        if job.error_count:
            raise CommandError(f"{job.error_count} of {job.total_rows} rows were not invited (see the results).")
