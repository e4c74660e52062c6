from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Upward hooks (DESIGN §3): the directory declares them, the policies register here.
        from directory.access import (
            register_access_evaluator,
            register_requirement_handler,
            register_session_credit,
        )
        from directory.leave import register_leave_rule
        from directory.panel import register_entry_rule
        from directory.signals import tenant_created
        from directory.signin import register_code_sign_in_rule
        from directory.visibility import register_visibility_rule

        from . import access, cross_tenant_access, selectors, services  # noqa: F401  (services register audit activities)

        register_visibility_rule(selectors.GuestAccessLevelRule())
        register_code_sign_in_rule(selectors.code_sign_in_allowed)
        register_entry_rule(selectors.code_guest_entry_refusal)
        register_access_evaluator(access.conditional_access_evaluator)
        access.connect_fact_signals()
        register_access_evaluator(cross_tenant_access.cross_tenant_access_evaluator)
        register_session_credit(cross_tenant_access.credit_trusted_mfa)
        register_requirement_handler("termsOfUse", "policies:terms_of_use")
        register_leave_rule(selectors.guest_leave_refusal)
        tenant_created.connect(_give_settings, dispatch_uid="policies.tenant_settings")


def _give_settings(sender, tenant, **kwargs):
    from .services import collaboration_settings_ensure, cross_tenant_default_ensure

    collaboration_settings_ensure(tenants=[tenant])
    cross_tenant_default_ensure(tenants=[tenant])
