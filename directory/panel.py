"""The access panel's shell (``/t/<tenant>/…``): tenant, signed-in person, branding and navigation.

The shell lives in the directory; what it shows is **registered** by the apps (DESIGN §3), so a later
feature adds its page without touching the shell:

- :func:`register_section`: a page of the panel (My Apps is the directory's own; My Groups, Invite,
  My Access, Approvals, Reviews, My Account come from the apps that own them), shown in the navigation
  to whom its ``visible`` says;
- :func:`register_entry_hook`: what to do when a signed-in person has no user object in the tenant
  yet (``invitations`` redeems a waiting invitation just in time);
- :func:`register_entry_rule`: a check every entry into the tenant passes (``policies``: a guest who
  signed in with an e-mailed code may enter only tenants that accept one-time passcodes);
- :func:`register_sign_in_page`: where anonymous visitors sign in to a tenant;
- :func:`register_invite_page`: the page that invites a guest (``invitations``), and who may use it:
  the owners' pages (a group's, an application's) link their "invite a guest" form to it.

Every entry is also evaluated for conditional access (``directory.enforcement.enforce``): a block
shows the block page, an unmet requirement sends the person to the page that meets it.

Every panel page derives from :class:`PanelView`, which resolves all of this once; its pages find
objects only through the actor's scoped selectors.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth import logout
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.views import View

from . import access
from .actors import Actor
from .enforcement import enforce
from .models import Tenant
from .selectors import (
    branding_for,
    organizations_for_account,
    panel_organizations,
    role_values,
    tenant_user_for_account,
)
from .signin import session_predates


class PanelContext:
    """What one panel request's sections and page share, read once by whoever needs it first.

    The shell builds one per request (:class:`PanelView`) and hands it to every section's ``visible`` and to
    :func:`invite_url`: a rule that several of them ask (may this person invite? the tenant's settings)
    costs its reads once per page, not once per asker. ``once(key, load)`` is the memo; ``actor`` and
    ``tenant`` are the request's."""

    __slots__ = ("_memo", "actor", "tenant")

    def __init__(self, actor: Actor, tenant: Tenant | None = None):
        self.actor = actor
        self.tenant = tenant if tenant is not None else actor.tenant
        self._memo: dict = {}

    def once(self, key: str, load: Callable[[], object]):
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    def __getattr__(self, name: str):
        # A rule written for the actor (``visible=lambda actor: actor.user is not None``) keeps working:
        # what the context does not have, its actor answers. Services still take ``panel.actor``.
        if name.startswith("_") or name == "actor":
            raise AttributeError(name)
        return getattr(self.actor, name)


def _as_panel(panel) -> PanelContext:
    return panel if isinstance(panel, PanelContext) else PanelContext(panel)


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    url_name: str  # reversed with the tenant's slug
    order: int = 100
    #: ``visible(panel)`` with the request's :class:`PanelContext` (``panel.actor``, ``panel.once``).
    visible: Callable[[PanelContext], bool] = field(default=lambda panel: True)


_sections: dict[str, Section] = {}
_entry_hooks: list[Callable] = []
_sign_in_page: list[str] = []
_entry_rules: list[Callable] = []
_invite_page: list[tuple[str, Callable]] = []


def register_section(section: Section) -> None:
    _sections[section.key] = section


def sections_for(panel: PanelContext | Actor) -> list[Section]:
    panel = _as_panel(panel)
    return sorted((s for s in _sections.values() if s.visible(panel)), key=lambda s: (s.order, s.key))


def register_entry_hook(hook: Callable[..., HttpResponse | None]) -> None:
    """``hook(request, tenant)`` runs when a signed-in person has no user object in the tenant; a
    response it returns is answered instead of "no access"."""
    if hook not in _entry_hooks:
        _entry_hooks.append(hook)


def register_entry_rule(rule: Callable[..., str | None]) -> None:
    """``rule(request, tenant, user)`` returns why this person may not enter the tenant now, or None."""
    if rule not in _entry_rules:
        _entry_rules.append(rule)


def entry_refusal(request, tenant: Tenant, user) -> str | None:
    for rule in _entry_rules:
        reason = rule(request, tenant, user)
        if reason:
            return reason
    return None


def register_sign_in_page(url_name: str) -> None:
    _sign_in_page[:] = [url_name]


def sign_in_url(tenant: Tenant, next_url: str) -> str:
    if _sign_in_page:
        return f"{reverse(_sign_in_page[0], args=[tenant.slug])}?{urlencode({'next': next_url})}"
    return f"{reverse('account_login')}?{urlencode({'next': next_url})}"


def register_invite_page(url_name: str, may_invite: Callable[[PanelContext], bool]) -> None:
    """``url_name`` (reversed with the tenant's slug) invites a guest; ``may_invite(panel)`` says who may
    (memoize it with ``panel.once``: the Invite section asks the same on every page)."""
    _invite_page[:] = [(url_name, may_invite)]


def invite_url(panel: PanelContext | Actor, tenant: Tenant | None = None) -> str | None:
    """Where the panel's actor invites a guest to its tenant, or None when it may not (or nothing invites)."""
    panel = _as_panel(panel)
    if not _invite_page:
        return None
    url_name, may_invite = _invite_page[0]
    return reverse(url_name, args=[(tenant or panel.tenant).slug]) if may_invite(panel) else None


def tenant_context(request, tenant: Tenant, **extra) -> dict:
    """What every tenant-branded page needs (the panel's and the redemption journey's)."""
    language = (getattr(request, "LANGUAGE_CODE", None) or "en")[:2]
    return {"tenant": tenant, "branding": branding_for(tenant, language), **extra}


_SLUG = "__slug__"
_tenant_urls: dict[tuple[str, str], str] = {}


def tenant_url(url_name: str, slug: str) -> str:
    """``reverse(url_name, args=[slug])``, reversed once per process (and script prefix), then filled in."""
    key = (url_name, get_script_prefix())
    pattern = _tenant_urls.get(key)
    if pattern is None:
        pattern = _tenant_urls[key] = reverse(url_name, args=[_SLUG])
    return pattern.replace(_SLUG, slug)


def speak_users_language(request, user) -> None:
    """The panel speaks the person's preferred language in this tenant (My Account sets it); without one,
    what the browser asked for (Django's LocaleMiddleware), as the redemption journey does."""
    wanted = (getattr(user, "preferred_language", "") or "").strip()
    if not wanted:
        return
    try:
        language = translation.get_supported_language_variant(wanted)
    except LookupError:
        return
    translation.activate(language)
    request.LANGUAGE_CODE = language


class PanelView(View):
    """Base of every access-panel page. Anonymous → the tenant's sign-in page; signed in without a
    usable user object in the tenant → an entry hook (just-in-time redemption) or "no access"."""

    section = ""
    template_name = ""
    #: What entering this page is, for conditional access (directory/access.py).
    access_resource: str = access.PANEL
    #: The pages that let a person meet a requirement honour a block, not the requirements themselves
    #: (they cannot require what they provide).
    meets_requirements = False

    def dispatch(self, request, slug: str, *args, **kwargs):
        if not request.user.is_authenticated:
            self.tenant = get_object_or_404(Tenant, slug=slug)
            return HttpResponseRedirect(sign_in_url(self.tenant, request.get_full_path()))
        # The header's organization switcher needs the person's organizations on every page: that one
        # query also brings this tenant and the user object here, on the way every panel page takes.
        account = request.user._wrapped if hasattr(request.user, "_wrapped") else request.user
        self.organizations = panel_organizations(account=account)
        for org in self.organizations:
            org.account = account  # the signed-in account itself: no join, no query
        user = next((org for org in self.organizations if org.tenant.slug == slug), None)
        if user is not None:
            self.tenant = user.tenant
        else:  # not an enabled user here: a disabled one, someone redeeming, a stranger, or no such tenant
            self.tenant = get_object_or_404(Tenant, slug=slug)
            user = tenant_user_for_account(tenant=self.tenant, account=request.user)
        if user is None:
            for hook in _entry_hooks:
                response = hook(request, self.tenant)
                if response is not None:
                    return response
        if user is None or not user.account_enabled:
            return render(request, "directory/panel/no_access.html", self.context(), status=403)
        speak_users_language(request, user)
        if session_predates(request, user):  # signed in before the tenant reset this user's redemption
            logout(request)
            return HttpResponseRedirect(sign_in_url(self.tenant, request.get_full_path()))
        reason = entry_refusal(request, self.tenant, user)
        if reason:
            return render(request, "directory/panel/no_access.html", self.context(reason=reason), status=403)
        response = enforce(request, self.tenant, user, resource=self.access_resource,
                           blocks_only=self.meets_requirements)
        if response is not None:
            return response
        self.tenant_user = user
        self.actor = Actor.for_user(user, roles=role_values(user))
        self.panel = PanelContext(self.actor, self.tenant)
        return super().dispatch(request, *args, **kwargs)

    def context(self, **extra) -> dict:
        actor = getattr(self, "actor", None)
        organizations = getattr(self, "organizations", None)
        if organizations is None:
            organizations = list(organizations_for_account(account=self.request.user))
        # Each link is reversed once per process and filled in per slug: the shell is on every page.
        for org in organizations:
            org.panel_href = tenant_url("directory:panel", org.tenant.slug)
        sections = [(section, tenant_url(section.url_name, self.tenant.slug))
                    for section in (sections_for(getattr(self, "panel", None) or actor) if actor is not None else [])]
        return tenant_context(
            self.request, self.tenant, tenant_user=getattr(self, "tenant_user", None), actor=actor,
            sections=sections, active_section=self.section, organizations=organizations, **extra)

    def render(self, status: int = 200, **extra) -> HttpResponse:
        return render(self.request, self.template_name, self.context(**extra), status=status)
