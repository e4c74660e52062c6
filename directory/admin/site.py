"""Registers the directory's admins (imported by ``DirectoryConfig.ready``)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import accounts, app_registrations, logs, objects, roles, signins, tenants, users  # noqa: F401

admin.site.site_header = _("B2B Portal administration")
admin.site.site_title = _("B2B Portal")
admin.site.index_title = _("Your tenants")

