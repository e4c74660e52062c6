from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.static import serve
from drf_spectacular.views import SpectacularSwaggerSplitView

from directory import codes, passwords
from directory import views as directory_views
from directory.api.oidc import GraphAuthorizationView, GraphTokenView

# Never Django's default pages: 400, 403 and 404 in the tenant's branding under /t/<tenant>/ (a guest at
# /admin/ is pointed to their access panels); an outage of the cache or the database answers 503,
# anything else templates/500.html, which needs no database (directory/unavailable.py).
handler400 = "directory.views.bad_request"
handler403 = "directory.views.permission_denied"
handler404 = "directory.views.page_not_found"
handler500 = "directory.unavailable.server_error"

# The admin console has no sign-in form of its own: /admin/login/ sends strangers to allauth's page
# (with next=), so one page carries the rate limits, the lock-out and the messages.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("home/", directory_views.home, name="home"),
    # Browsers ask for /favicon.ico whatever the page says; pages name the tenant's logo or this one.
    path("favicon.ico", lambda request: HttpResponsePermanentRedirect(static("favicon.svg"))),
    path("admin/", admin.site.urls),
    # allauth's "enter your code" page, with a guess counter that parallel requests share (directory/codes.py).
    path("accounts/login/code/confirm/", codes.confirm_login_code, name="account_confirm_login_code"),
    # No password path for accounts without one (directory/passwords.py).
    path("accounts/password/set/", passwords.password_set, name="account_set_password"),
    path("accounts/", include("allauth.urls")),
    # allauth's token endpoint, applying the directory's rule for who may get tokens (directory/tokens.py).
    path("identity/o/api/token", GraphTokenView.as_view(), name="api-token"),
    # allauth's authorization endpoint, evaluating conditional access for the app's tenant (directory/enforcement.py).
    path("identity/o/authorize", GraphAuthorizationView.as_view(), name="api-authorize"),
    path("", include("allauth.idp.urls")),
    path("", include("config.api_urls")),  # /v1.0/… and /beta/…
    # The API's OpenAPI document is /v1.0/$schema; Swagger UI browses it, with its assets served by us
    # (no CDN; drf-spectacular's Redoc page would load web fonts from Google, so it is not offered). The
    # split view serves its start-up script as a file, so the Content-Security-Policy needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="graph-schema"), name="api-docs"),
    path("", include("directory.urls")),  # the access panel's shell and My Apps
    path("", include("invitations.urls")),
    path("", include("policies.urls")),  # the terms of use page (the "termsOfUse" requirement handler)
    path("", include("entitlements.urls")),  # My Access, Approvals, packages' links
]

# Uploaded logos are served by the project itself (no CDN); in production put them behind the web
# server or an object store instead.
urlpatterns += [path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})]
