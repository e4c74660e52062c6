from django.urls import path

from . import views

urlpatterns = [
    path("invitations", views.InvitationsView.as_view()),
]
