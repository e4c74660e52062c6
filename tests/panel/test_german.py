"""Every access-panel page speaks the person's language: their preferred language in the tenant (My Account),
else what the browser asks for (Accept-Language). Rendered in English and in German, the German page keeps
none of the English page's interface strings (issue 11)."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from directory import services
from directory.actors import Actor
from tests.factories import (
    AccountFactory,
    ApplicationFactory,
    AssignmentFactory,
    GroupFactory,
    GuestFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

#: Interface strings of the panel's pages (the shell, My Apps, My Groups, the owners' pages, requests, My
#: Account, leaving, security info, the invite page). Data (names, e-mail addresses) is never one of them.
KEY_STRINGS = [
    "My apps", "My groups", "My account", "Invite someone", "Security info", "Skip to content", "Sign out",
    "All your organizations", "switch organization", "Home organization", "Search apps", "Apps you can request",
    "Request access", "(opens in a new tab)", "Groups I own", "Groups I belong to", "Groups I can join",
    "Create a group", "Who may join", "Owners add members", "Anyone may join", "Owners approve each request",
    "Find a group", "Leave group", "Join group", "Add a member", "Find a person in the directory",
    "Invite a guest by e-mail", "Personal message (optional)", "Remove as owner", "Make owner", "Join requests",
    "Access requests", "Groups assigned", "Requests to decide", "Nothing waits for your decision.", "My requests",
    "You have no open requests.", "Applications I own", "Preferred language", "Save profile", "Organizations",
    "Recent sign-ins", "Leave organization", "Your sign-in methods", "Add a method", "Authenticator app",
    "Business justification", "Give access to what you own", "Back to My account", "Display name",
    "No sign-ins to this organization are recorded yet.", "The organization's default", "Sponsors",
    "You have no sponsor in this organization.",
]


def _visible(html: str) -> str:
    """The page without scripts and URLs (an English word in an address is not a leftover)."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    return re.sub(r'(href|action|src)="[^"]*"', "", html)


def _escaped(text: str) -> str:
    return text.replace("'", "&#x27;")


@pytest.fixture
def world():
    tenant = TenantFactory(name="Tailwind")
    tenant.owners_manage_join_requests = True
    tenant.members_can_create_security_groups = True
    tenant.save()
    owner = UserFactory(tenant=tenant, display_name="Olga Eigner")
    group = GroupFactory(tenant=tenant, display_name="Finanzteam", members_can_join=True, join_requires_approval=True)
    group.owners.add(owner)
    GroupFactory(tenant=tenant, display_name="Offener Klub", members_can_join=True)
    app = ApplicationFactory(tenant=tenant, display_name="Projektplaner", self_service_enabled=True,
                             self_service_requires_approval=True)
    app.owners.add(owner)
    AssignmentFactory(application=ApplicationFactory(tenant=tenant, display_name="Gehalt"), user=owner)
    asker = UserFactory(tenant=tenant, display_name="Bea Bittsteller")
    services.group_join(actor=Actor.for_user(asker), group=group, justification="Quartal")
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted",
                         display_name="Gerd Gast")
    return {"tenant": tenant, "owner": owner, "group": group, "app": app, "guest": guest, "asker": asker}


def _pages(world) -> list[tuple[str, object]]:
    slug = world["tenant"].slug
    owner_pages = [
        reverse("directory:panel", args=[slug]),
        reverse("directory:groups", args=[slug]),
        reverse("directory:group_manage", args=[slug, world["group"].pk]),
        reverse("directory:app_manage", args=[slug, world["app"].pk]),
        reverse("directory:requests", args=[slug]),
        reverse("directory:account", args=[slug]),
        reverse("directory:security_info", args=[slug]),
        reverse("invitations:invite", args=[slug]),
    ]
    return ([(url, world["owner"]) for url in owner_pages]
            + [(reverse("directory:app_access_request", args=[slug, world["app"].pk]), world["asker"]),
               (reverse("directory:account", args=[slug]), world["guest"]),
               (reverse("directory:account_leave", args=[slug]), world["guest"])])


def _get(person, url, **headers):
    client = Client()
    client.force_login(person.account)
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.status_code)
    return _visible(response.content.decode())


def test_every_panel_page_in_german_keeps_no_english_interface_string(world):
    checked = 0
    for url, person in _pages(world):
        english = _get(person, url, HTTP_ACCEPT_LANGUAGE="en")
        person.preferred_language = "de"
        person.save(update_fields=["preferred_language"])
        german = _get(person, url, HTTP_ACCEPT_LANGUAGE="en")  # the preferred language wins over the browser
        person.preferred_language = ""
        person.save(update_fields=["preferred_language"])
        shown = [s for s in KEY_STRINGS if _escaped(s) in english]
        assert shown, f"{url}: no key string on the English page"
        left = [s for s in shown if _escaped(s) in german]
        assert not left, f"{url} in German still says {left}"
        assert '<html lang="de">' in german
        checked += len(shown)
    assert checked > 60


def test_without_a_preferred_language_the_browsers_language_decides(world):
    url = reverse("directory:groups", args=[world["tenant"].slug])
    assert "Meine Gruppen" in _get(world["owner"], url, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert "My groups" in _get(world["owner"], url, HTTP_ACCEPT_LANGUAGE="en-GB")


def test_the_preferred_language_decides_the_messages_after_a_form(world):
    owner = world["owner"]
    owner.preferred_language = "de"
    owner.save(update_fields=["preferred_language"])
    client = Client()
    client.force_login(owner.account)
    url = reverse("directory:groups", args=[world["tenant"].slug])
    page = client.post(url, {"action": "create", "display_name": "Neue Gruppe", "join_policy": "open"},
                       follow=True).content.decode()
    assert "Gruppe „Neue Gruppe“ erstellt." in page


def test_the_german_catalog_translates_the_panels_strings():
    with translation.override("de"):
        assert [translation.gettext(s) for s in KEY_STRINGS if translation.gettext(s) == s] == []
