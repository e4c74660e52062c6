from django.urls import path

from . import panel, views

app_name = "invitations"

urlpatterns = [
    path("t/<slug:slug>/sign-in/", views.sign_in, name="sign_in"),
    path("t/<slug:slug>/invite/", panel.InviteView.as_view(), name="invite"),
    path("t/<slug:slug>/invitations/accept/", views.consent, name="consent"),
    path("t/<slug:slug>/invitations/switch-account/", views.switch_account, name="switch_account"),
    path("t/<slug:slug>/invitations/<str:token>/", views.invitation_landing, name="landing"),
]
