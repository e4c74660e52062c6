from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The platform-wide code page (directory's allauth glue) asks the same rule as the tenants' pages.
        from directory.signin import register_code_sign_in_rule

        from .selectors import code_sign_in_allowed

        register_code_sign_in_rule(code_sign_in_allowed)
