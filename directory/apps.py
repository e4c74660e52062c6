from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "directory"
    verbose_name = "Directory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import views
        from .admin import site  # noqa: F401  (registers the directory's admins; see directory/admin/__init__.py)

        views.register_sections()  # My Apps and My Account
