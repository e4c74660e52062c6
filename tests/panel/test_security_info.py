"""Security info (/t/<tenant>/security-info/), authenticator app registration and the MFA challenge."""

import pytest
from django.urls import reverse

from tests.panel.contract import PanelPageContract

pytestmark = pytest.mark.django_db


class TestSecurityInfo(PanelPageContract):
    route = "directory:security_info"
    # session, account, organizations (with the user, its roles and this tenant), methods; branding and the
    # tenant's settings come from the per-process copies (directory/tenant_cache.py)
    max_queries = 4

    def check_success(self, response, tenant, user, target):
        assert "Authenticator app" in response.content.decode()


class TestTotpRegister(PanelPageContract):
    route = "directory:mfa_totp_register"
    # tenant, session, account, user, methods, branding, organizations, session write, the Invite
    # section's settings and the inviter's roles
    max_queries = 7

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert "<svg" in page and 'id="totp-secret"' in page


class TestChallenge(PanelPageContract):
    route = "directory:mfa_challenge"
    member_status = 302  # nobody has a method yet: to registration (combined registration)
    max_queries = 4

    def check_success(self, response, tenant, user, target):
        assert response["Location"].startswith(reverse("directory:mfa_totp_register", args=[tenant.slug]))


class TestPasskeyRegister(PanelPageContract):
    route = "directory:mfa_passkey_register"
    # tenant, session, account, user, methods, branding, organizations, the Invite section's settings
    max_queries = 9

    def check_success(self, response, tenant, user, target):
        page = response.content.decode()
        assert 'data-passkey="register"' in page and "js/passkey.js" in page


class TestPasskeyVerify(PanelPageContract):
    route = "directory:mfa_passkey_verify"
    member_status = 404  # JSON POSTs only (static/js/passkey.js); a GET has nothing to show
    max_queries = 6

    def check_success(self, response, tenant, user, target):
        assert response.status_code == 404
