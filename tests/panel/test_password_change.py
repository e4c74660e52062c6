"""The page where a person replaces the password an administrator chose (directory/password_change.py)."""

from django.urls import reverse

from tests.panel.contract import PanelPageContract


class TestPasswordChange(PanelPageContract):
    route = "directory:password_change"
    member_status = 302  # nobody here must change a password: back to where they were going (the panel)
    max_queries = 4

    def check_success(self, response, tenant, user, target):
        assert response["Location"] == reverse("directory:panel", args=[tenant.slug])
