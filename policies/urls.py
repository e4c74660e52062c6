from django.urls import path

from . import views

app_name = "policies"

urlpatterns = [
    path("t/<slug:slug>/terms-of-use/", views.TermsOfUseView.as_view(), name="terms_of_use"),
]
