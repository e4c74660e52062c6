"""The My Apps tiles, built in Python.

A tile is one link (the whole card), opening the app in a new tab; it shows the logo (or the initial), the
name, the description and the owners the person may see. Built here rather than with a ``{% for %}`` over
template tags: Django's template engine spent ~0.2 ms a tile resolving variables (and ``format_html``
~0.07 ms), the largest share of the page's time against the speed goal (bench/panel.py; figures in
bench/README.md). Every value is escaped with :func:`html.escape` (quotes included), as Django's
``escape`` does.
"""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

register = template.Library()


def _e(value) -> str:
    return value if isinstance(value, SafeString) else escape(str(value), quote=True)


@register.simple_tag
def app_tiles(apps) -> SafeString:
    """``apps`` as My Apps' ``<li>`` tiles (each app carries what MyAppsView worked out for it)."""
    owner_label, new_tab = _e(_("Owner:")), _e(_("(opens in a new tab)"))
    tiles = []
    for app in apps:
        if app.logo_url:
            logo = f'<img src="{_e(app.logo_url)}" alt="" width="48" height="48">'
        else:
            logo = f'<span class="logo-fallback" aria-hidden="true">{_e(app.initial)}</span>'
        description = f'<span class="muted">{_e(app.description)}</span>' if app.description else ""
        owners = f'<span class="muted small">{owner_label} {_e(app.owner_names)}</span>' if app.owner_names else ""
        tiles.append(
            f'<li class="tile app" data-name="{_e(app.search_name)}"><a href="{_e(app.launch_href)}" target="_blank" '
            f'rel="noopener">{logo}<span class="tile-text"><strong>{_e(app.display_name)}</strong>{description}'
            f'{owners}</span><span class="visually-hidden">{new_tab}</span></a></li>')
    return mark_safe("\n".join(tiles))  # noqa: S308  (every value above is escaped)
