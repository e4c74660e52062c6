from django.urls import include, path

from . import views
from .mfa import views as mfa_views
from .password_change import PasswordChangeView

app_name = "directory"

urlpatterns = [
    path("t/<slug:slug>/", views.MyAppsView.as_view(), name="panel"),
    path("t/<slug:slug>/apps/<uuid:app_id>/", views.LaunchView.as_view(), name="launch"),
    path("t/<slug:slug>/account/", views.AccountView.as_view(), name="account"),
    path("t/<slug:slug>/account/leave/", views.LeaveView.as_view(), name="account_leave"),
    # Self-service: My Groups, the owners' pages, requests (directory/panel_pages/)
    path("", include("directory.panel_pages.urls")),
    path("t/<slug:slug>/security-info/", mfa_views.SecurityInfoView.as_view(), name="security_info"),
    path("t/<slug:slug>/security-info/authenticator/", mfa_views.TotpRegisterView.as_view(),
         name="mfa_totp_register"),
    path("t/<slug:slug>/mfa/", mfa_views.ChallengeView.as_view(), name="mfa_challenge"),
    path("t/<slug:slug>/security-info/passkey/", mfa_views.PasskeyRegisterView.as_view(),
         name="mfa_passkey_register"),
    path("t/<slug:slug>/mfa/passkey/", mfa_views.PasskeyVerifyView.as_view(), name="mfa_passkey_verify"),
    path("t/<slug:slug>/password/", PasswordChangeView.as_view(), name="password_change"),
    path("demo/<slug:slug>/<slug:name>/", views.demo_app, name="demo_app"),
]
