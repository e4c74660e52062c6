"""The per-process copies of a tenant's branding and collaboration settings (directory/tenant_cache.py),
and the access panel's per-request context that the sections' rules share (directory/panel.py)."""

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from directory import panel as panel_shell
from directory import services
from directory.actors import Actor
from directory.models import Branding
from directory.selectors import branding_for
from directory.tenant_cache import TenantCache
from policies import services as policy_services
from policies.models import CollaborationSettings
from policies.selectors import collaboration_settings_of
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _queries(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return result, len(captured.captured_queries)


def test_a_tenants_branding_is_read_once_then_from_the_copy():
    tenant = TenantFactory()
    Branding.objects.bulk_create([Branding(tenant=tenant, locale="", accent_color="#123456")])  # no signal
    first, cold = _queries(lambda: branding_for(tenant, "en"))
    second, warm = _queries(lambda: branding_for(tenant, "en"))
    assert first.accent_color == second.accent_color == "#123456"
    assert cold == 1 and warm == 0


def test_a_branding_changed_through_its_service_shows_on_the_next_page_at_once():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    services.branding_save(actor=Actor.operator(), branding=Branding(tenant=tenant, accent_color="#111111"))
    client = Client()
    client.force_login(member.account)
    url = reverse("directory:panel", args=[tenant.slug])
    assert "#111111" in client.get(url).content.decode()
    branding = Branding.objects.get(tenant=tenant)
    services.branding_save(actor=Actor.operator(), branding=branding, changes={"accent_color": "#222222"})
    page = client.get(url).content.decode()
    assert "#222222" in page and "#111111" not in page


def test_a_guest_access_level_change_decides_the_next_read_at_once():
    """Who a guest sees is read from the copy: a change is seen on the very next read in this process."""
    tenant = TenantFactory()
    level = CollaborationSettings.GuestAccess
    assert collaboration_settings_of(tenant.pk).guest_user_role_id == level.LIMITED
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                  changes={"guest_user_role_id": level.SAME_AS_MEMBERS})
    assert collaboration_settings_of(tenant.pk).guest_user_role_id == level.SAME_AS_MEMBERS


def test_a_change_rolled_back_leaves_no_copy_of_what_never_was():
    tenant = TenantFactory()
    level = CollaborationSettings.GuestAccess
    collaboration_settings_of(tenant.pk)  # a copy of the defaults
    with pytest.raises(RuntimeError), transaction.atomic():
        policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                      changes={"guest_user_role_id": level.SAME_AS_MEMBERS})
        assert collaboration_settings_of(tenant.pk).guest_user_role_id == level.SAME_AS_MEMBERS  # our own write
        raise RuntimeError("the transaction fails after the change")
    assert collaboration_settings_of(tenant.pk).guest_user_role_id == level.LIMITED


def test_another_process_change_is_seen_once_the_shared_token_moves(settings):
    """Another process's change replaces the tenant's token in the shared cache; this process reloads on
    its next check (here: every read, TENANT_CACHE_CHECK_SECONDS = 0)."""
    settings.TENANT_CACHE_CHECK_SECONDS = 0
    loads = []
    copies = TenantCache("test-other-process", lambda tenant_id: loads.append(tenant_id) or len(loads))
    assert copies.get("t1") == 1 and copies.get("t1") == 1  # unchanged token: the copy
    cache.set(copies._key("t1"), "moved-by-another-process", timeout=None)
    assert copies.get("t1") == 2 and loads == ["t1", "t1"]


def test_a_tenant_changed_in_an_open_transaction_is_read_afresh_and_not_kept():
    loads = []
    copies = TenantCache("test-open-transaction", lambda tenant_id: loads.append(tenant_id) or len(loads))
    copies.get("t1")
    with transaction.atomic():
        copies.invalidate("t1")
        assert copies.get("t1") == 2 and copies.get("t1") == 3  # not kept while the change is uncommitted


def test_the_sections_share_one_read_per_page(monkeypatch):
    """Two sections asking the same question through the panel context answer it with one read."""
    asked = []

    def rule(panel):
        return panel.once("test.rule", lambda: asked.append(panel.actor) or True)

    monkeypatch.setitem(panel_shell._sections, "t-one", panel_shell.Section("t-one", "One", "directory:panel", 1, rule))
    monkeypatch.setitem(panel_shell._sections, "t-two", panel_shell.Section("t-two", "Two", "directory:panel", 2, rule))
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    client = Client()
    client.force_login(member.account)
    page = client.get(reverse("directory:panel", args=[tenant.slug])).content.decode()
    assert ">One<" in page and ">Two<" in page
    assert len(asked) == 1


def test_a_guests_my_apps_reads_neither_the_settings_nor_the_roles_again():
    """The guest's visibility rule and the Invite section read the tenant's settings from the copy, and the
    actor's roles come with the organizations query: no query names them."""
    tenant = TenantFactory()
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted")
    client = Client()
    client.force_login(guest.account)
    url = reverse("directory:panel", args=[tenant.slug])
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    sql = " ".join(q["sql"].lower() for q in captured.captured_queries)
    assert "policies_collaborationsettings" not in sql and "directory_branding" not in sql
    assert sum('from "directory_roleassignment"' in q["sql"].lower() and "json" not in q["sql"].lower()
               for q in captured.captured_queries) == 0


def test_a_visibility_rule_written_for_the_actor_still_works_with_the_panel_context():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    panel = panel_shell.PanelContext(Actor.for_user(member))
    assert panel.user == member and panel.is_guest is False and panel.tenant == tenant
    assert panel.can("User.Read.All")
