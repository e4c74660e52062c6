from django.apps import AppConfig


class EntitlementsConfig(AppConfig):
    name = "entitlements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Upward hooks (DESIGN §3): the access panel's shell lives in the directory. Importing the
        # services registers the audit activities and target types; the views register My Access and
        # Approvals.
        from directory.panel import register_entry_hook

        from . import services, views  # noqa: F401

        register_entry_hook(views.external_package_hook)
