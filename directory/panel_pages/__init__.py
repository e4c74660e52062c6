"""The directory's self-service pages of the access panel: My Groups, the owners' pages of a group and of
an application, asking for an application, and the requests an owner or approver decides. Each page is
a :class:`~directory.panel.PanelView` that parses input and calls one service or selector."""

from django.utils.translation import gettext_lazy

from ..panel import Section, register_section

register_section(Section(
    key="groups", label=gettext_lazy("My groups"), url_name="directory:groups", order=20,
    # Entra: "Restrict user ability to access groups features in the Access Panel" (the Graph API is unaffected)
    visible=lambda panel: panel.tenant is not None and panel.tenant.groups_self_service_enabled,
))
