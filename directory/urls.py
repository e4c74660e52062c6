from django.urls import path

from . import views

app_name = "directory"

urlpatterns = [
    path("t/<slug:slug>/", views.MyAppsView.as_view(), name="panel"),
    path("t/<slug:slug>/apps/<uuid:app_id>/", views.LaunchView.as_view(), name="launch"),
    path("demo/<slug:slug>/<slug:name>/", views.demo_app, name="demo_app"),
]
