from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from directory.demo import seed_demo


class Command(BaseCommand):
    help = "Create (or complete) the demo tenants Tailwind Traders and Proseware. Safe to run again."

    def handle(self, *args, **options):
        result = seed_demo()
        site = settings.SITE_URL
        out = self.stdout.write
        out(self.style.SUCCESS("Demo data is ready."))
        out("")
        out(f"  Admin console:  {site}{reverse('admin:index')}")
        for tenant in result["tenants"].values():
            out(f"  Access panel of {tenant.name}:  {site}{reverse('directory:panel', args=[tenant.slug])}")
        out("")
        out(f"  Accounts (each signs in with the password {result['password']}, or a code sent by e-mail)")
        width = max(len(row["email"]) for row in result["accounts"])
        for row in result["accounts"]:
            console = " · admin console" if row["console"] else ""
            out(f"    {row['email']:<{width}}  {row['what']}{console}")
        out("")
        out("  Platform operator: there is none in the demo. Create one with")
        out("    python manage.py createsuperuser")
        out("  A superuser sees every tenant in the admin console, and the platform's own mail (sign-in codes)")
        out("  under Outbox messages: with embedded defaults, mail is kept there, not delivered.")
