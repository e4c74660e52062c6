from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Upward hooks (DESIGN §3): the access panel's shell lives in the directory.
        from directory.demo import register_demo_step
        from directory.panel import register_entry_hook, register_sign_in_page

        from . import services  # noqa: F401  (registers its audit activities)
        from .demo import invite_pending_guests
        from .views import redeem_just_in_time

        register_entry_hook(redeem_just_in_time)
        register_sign_in_page("invitations:sign_in")
        register_demo_step(invite_pending_guests)
