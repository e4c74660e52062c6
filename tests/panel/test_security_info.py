"""Security info (/t/<tenant>/security-info/), authenticator app registration and the MFA challenge."""

import pytest
from django.urls import reverse

from tests.panel.contract import PanelPageContract

pytestmark = pytest.mark.django_db


class TestSecurityInfo(PanelPageContract):
    route = "directory:security_info"
    # tenant, session, account, user, methods, branding, organizations
    max_queries = 8

    def check_success(self, response, tenant, user, target):
        assert "Authenticator app" in response.content.decode()


class TestTotpRegister(PanelPageContract):
    route = "directory:mfa_totp_register"
    # tenant, session, account, user, methods, branding, organizations, session write
    max_queries = 10

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "<svg" in page and 'id="totp-secret"' in page


class TestChallenge(PanelPageContract):
    route = "directory:mfa_challenge"
    member_status = 302  # nobody has a method yet: to registration (combined registration)
    max_queries = 6

    def check_success(self, response, tenant, user, target):
        assert response["Location"].startswith(reverse("directory:mfa_totp_register", args=[tenant.slug]))
