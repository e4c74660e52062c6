"""The console's sign-in log in a real browser: the per-day chart is drawn by the vendored Chart.js from
the page's json_script data, with no Content-Security-Policy violation, and its table says the same."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from directory.demo import DEMO_PASSWORD, seed_demo
from directory.models import SignInEvent, Tenant
from tests.browser.test_content_security_policy import DEMO_ADMIN, watch_for_violations
from tests.support.browser import sign_in_to_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_sign_in_chart_is_drawn_under_the_policy(browser_page):
    seed_demo()
    tenant = Tenant.objects.get(slug="tailwind")
    SignInEvent.objects.bulk_create(
        [SignInEvent(tenant=tenant, user_principal_name="dana@fabrikam.example", created_at=timezone.now(),
                     result="failure" if i < 2 else "success") for i in range(5)])
    page = browser_page
    violations = watch_for_violations(page)
    sign_in_to_admin(page, DEMO_ADMIN, DEMO_PASSWORD)
    page.goto("/admin/directory/signinevent/")
    expect(page.locator("#sign-in-chart")).to_be_visible()
    page.wait_for_function("() => window.Chart && window.Chart.getChart(document.getElementById('sign-in-chart'))")
    drawn = page.evaluate("""() => {
        const chart = Chart.getChart(document.getElementById('sign-in-chart'));
        return chart.data.datasets.map(d => d.data[d.data.length - 1]);
    }""")
    assert drawn == [5, 2]  # today's sign-ins and failures
    page.locator("#sign-in-chart-table-summary summary").click()
    last_row = page.locator("#sign-in-chart-table-summary tbody tr").last
    expect(last_row.locator("td")).to_have_text(["5", "2"])
    assert violations == []
