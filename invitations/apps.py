from django.apps import AppConfig


class InvitationsConfig(AppConfig):
    name = "invitations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Upward hooks (DESIGN §3): the access panel's shell lives in the directory.
        from django.utils.translation import gettext_lazy

        from directory.demo import register_demo_step
        from directory.panel import (
            Section,
            register_entry_hook,
            register_invite_page,
            register_section,
            register_sign_in_page,
        )

        from . import federation_routes, services  # noqa: F401  (services registers its audit activities)
        from .demo import invite_pending_guests
        from .views import redeem_just_in_time

        register_entry_hook(redeem_just_in_time)
        federation_routes.register()  # the tenants' identity providers in the redemption order
        register_sign_in_page("invitations:sign_in")
        register_demo_step(invite_pending_guests)
        # "Invite someone": to whom allowInvitesFrom and the Guest Inviter role allow (the admin's and the
        # API's rule, services.may_invite); the owners' pages post their invite form to the same page.
        register_section(Section(key="invite", label=gettext_lazy("Invite someone"), url_name="invitations:invite",
                                 order=30, visible=_may_invite))
        register_invite_page("invitations:invite", _may_invite)
        # Partners' SAML IdPs by e-mail domain (policies' SAML/WS-Fed domain federation).
        from .discovery import register_federated_resolver
        from .saml_routes import saml_route

        register_federated_resolver(saml_route, kind="saml")


def _may_invite(panel) -> bool:
    """The Invite section and the owners' "invite a guest" forms ask this on one page: answered once per
    request (``panel.once``), on the tenant's settings as this process keeps them (no query)."""
    from policies.selectors import collaboration_settings_of

    from .services import may_invite

    return panel.once("invitations.may_invite", lambda: may_invite(
        actor=panel.actor, settings=collaboration_settings_of(panel.tenant.pk) if panel.tenant else None))
