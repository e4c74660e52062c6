from django.conf import settings
from django.core.management.base import BaseCommand

from directory.demo import seed_demo


class Command(BaseCommand):
    help = "Create (or complete) the demo tenants Tailwind Traders and Proseware. Safe to run again."

    def handle(self, *args, **options):
        result = seed_demo()
        tailwind, proseware = result["tenants"]["tailwind"], result["tenants"]["proseware"]
        password = result["password"]
        site = getattr(settings, "SITE_URL", "http://127.0.0.1:8000")
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        self.stdout.write(f"""
  Admin console:   {site}/admin/
    Tailwind Traders (resource tenant): admin@{tailwind.initial_domain}  /  {password}
    Proseware (partner tenant):         admin@{proseware.initial_domain}  /  {password}
  Other members (same password): adele@, megan@, lee@{tailwind.initial_domain}; gcarvalho@{proseware.initial_domain}
  Sign-in page:    {site}/accounts/login/  (or sign in with a code sent by e-mail)
""")
