"""Registers the directory's admins (imported by ``DirectoryConfig.ready``) and arranges the console's
sections."""

from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from . import accounts, app_registrations, logs, objects, requests, roles, signins, tenants, user_page, users  # noqa: F401

admin.site.site_header = _("B2B Portal administration")
admin.site.site_title = _("B2B Portal")
admin.site.index_title = _("Your tenants")
admin.site.empty_value_display = "—"  # an empty field reads as a dash, not as a hyphen or "None"

#: Models shown in a section of their own rather than under their app: admins look for mail under
#: "Mail", not among directory objects. (app label, model name) -> (section label, section name).
SECTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("directory", "outboxmessage"): ("mail", _("Mail")),
}

_stock_get_app_list = admin.site.get_app_list


def get_app_list(request, app_label=None):
    """The stock app list, with the models of :data:`SECTIONS` moved to their own sections."""
    apps = _stock_get_app_list(request, app_label=None)
    sections: dict[str, dict] = {}
    for app in apps:
        kept = []
        for model in app["models"]:
            section = SECTIONS.get((app["app_label"], model["object_name"].lower()))
            if section is None:
                kept.append(model)
                continue
            label, name = section
            entry = sections.setdefault(label, {"name": name, "app_label": label, "models": [],
                                                "has_module_perms": True})
            entry["models"].append(model)
            entry.setdefault("app_url", model.get("admin_url") or reverse("admin:index"))
        app["models"] = kept
    apps = [app for app in apps if app["models"]] + sorted(sections.values(), key=lambda s: str(s["name"]))
    if app_label is not None:
        apps = [app for app in apps if app["app_label"] == app_label]
    return apps


admin.site.get_app_list = get_app_list
