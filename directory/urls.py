from django.urls import include, path

from . import views

app_name = "directory"

urlpatterns = [
    path("t/<slug:slug>/", views.MyAppsView.as_view(), name="panel"),
    path("t/<slug:slug>/apps/<uuid:app_id>/", views.LaunchView.as_view(), name="launch"),
    path("t/<slug:slug>/account/", views.AccountView.as_view(), name="account"),
    path("t/<slug:slug>/account/leave/", views.LeaveView.as_view(), name="account_leave"),
    # Self-service: My Groups, the owners' pages, requests (directory/panel_pages/)
    path("", include("directory.panel_pages.urls")),
]
