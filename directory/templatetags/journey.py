"""``{% journey as j %}``: the tenant (and its branding) whose journey a platform page is part of
(allauth's sign-in, code and sign-out pages; see ``directory.signin.journey_tenant``)."""

from django import template
from django.utils import translation

from directory.selectors import branding_for
from directory.signin import journey_tenant

register = template.Library()

_CACHE = "_journey_context"


@register.simple_tag(takes_context=True)
def journey(context) -> dict | None:
    request = context.get("request")
    if request is None:
        return None
    if not hasattr(request, _CACHE):  # several blocks ask; one query per request
        tenant = journey_tenant(request)
        value = None
        if tenant is not None:
            value = {"tenant": tenant, "branding": branding_for(tenant, (translation.get_language() or "en")[:2])}
        setattr(request, _CACHE, value)
    return getattr(request, _CACHE)
