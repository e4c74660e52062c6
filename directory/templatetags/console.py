"""Template tags of the admin console's home page (the overview and "Recent actions")."""

from django import template

from ..admin.overview import overview_for, recent_actions

register = template.Library()


@register.simple_tag(takes_context=True)
def console_overview(context):
    return overview_for(context["request"])


@register.simple_tag(takes_context=True)
def console_recent_actions(context):
    return recent_actions(context["request"])


@register.simple_tag(takes_context=True)
def render_overview_card(context, card, data, tenant):
    return template.loader.render_to_string(card.template, {"card": card, "data": data, "tenant": tenant},
                                            request=context["request"])


@register.simple_tag(takes_context=True)
def render_user_section(context, section, data, user):
    return template.loader.render_to_string(section.template, {"data": data, "user": user,
                                                               "may_manage": context.get("may_manage_user")},
                                            request=context["request"])
