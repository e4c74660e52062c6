from django.urls import path

from . import users

urlpatterns = [
    path("users", users.UsersView.as_view()),
    path("users/<str:user_id>", users.UserView.as_view()),
    path("users/<str:user_id>/memberOf", users.UserMemberOfView.as_view()),
    path("users/<str:user_id>/sponsors", users.UserSponsorsView.as_view()),
    path("me", users.MeView.as_view()),
]
