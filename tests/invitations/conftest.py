import re

import pytest

from directory.models import OutboxMessage
from tests.factories import ApplicationFactory, GroupFactory, TenantFactory, admin_of


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example",
                         privacy_statement_url="https://tailwind.example/privacy")


@pytest.fixture
def inviter(tenant):
    return admin_of(tenant)


def latest_code_for(email: str) -> str:
    # Filtered in Python: SQLite has no JSON containment lookup.
    message = next(m for m in OutboxMessage.objects.order_by("-created_at") if email in m.to)
    match = re.search(r"^\s*([A-Z0-9]{3}-?[A-Z0-9]{3})\s*$", message.body_text, re.MULTILINE)
    assert match, message.body_text
    return match.group(1)


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture
def shared_app(tenant):
    return ApplicationFactory(tenant=tenant, display_name="Partner Portal", launch_url="https://portal.tailwind.example")


@pytest.fixture
def partner_group(tenant):
    return GroupFactory(tenant=tenant, display_name="Partners")
