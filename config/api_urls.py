"""The Graph-shaped API under /v1.0/ (and /beta/ where Graph v1.0 has no resource). Each app
contributes its endpoints; the conventions live in directory/api/."""

from django.urls import include, path

urlpatterns = [
    path("", include("directory.api.urls")),
]
