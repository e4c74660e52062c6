from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .access import register_requirement_handler
        from .admin import site  # noqa: F401  (registers the directory's admins; see directory/admin/__init__.py)
        from .signin import register_login_stage

        # The directory meets MFA requirements itself (directory/mfa/) and evaluates access at sign-in.
        register_login_stage("directory.enforcement.AccessStage")
        register_requirement_handler("mfa", "directory:mfa_challenge")
        register_requirement_handler("authenticationStrength", "directory:mfa_challenge")
