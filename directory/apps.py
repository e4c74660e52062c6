from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import views
        from .access import register_access_evaluator, register_requirement_handler
        from .admin import site  # noqa: F401  (registers the directory's admins; see directory/admin/__init__.py)
        from .compiled import let_psycopg_cache_larger_statements
        from .signin import register_login_stage

        # The directory meets MFA requirements itself (directory/mfa/) and evaluates access at sign-in.
        register_login_stage("directory.enforcement.AccessStage")
        register_requirement_handler("mfa", "directory:mfa_challenge")
        register_requirement_handler("authenticationStrength", "directory:mfa_challenge")
        # A password an administrator chose is changed by its owner first (Graph's forceChangePasswordNextSignIn).
        from .password_change import REQUIREMENT, password_change_evaluator

        register_access_evaluator(password_change_evaluator)
        register_requirement_handler(REQUIREMENT, "directory:password_change")
        # a wrong password is a failed sign-in in the tenant signed in to (the sign-in log only; no rule)
        from django.contrib.auth.signals import user_login_failed

        from .enforcement import record_failed_password

        user_login_failed.connect(record_failed_password, dispatch_uid="directory.record_failed_password")

        views.register_sections()  # My Apps and My Account
        let_psycopg_cache_larger_statements()  # the invitation's one insert (directory/compiled.py)
