from django.urls import path

from . import views
from .federation import views as federation_views

app_name = "policies"

urlpatterns = [
    path("t/<slug:slug>/terms-of-use/", views.TermsOfUseView.as_view(), name="terms_of_use"),
    # An external identity provider's sign-in (OpenID Connect, Google, Microsoft, a partner deployment).
    path("t/<slug:slug>/federation/<uuid:idp_id>/begin/", federation_views.begin, name="federation_begin"),
    # One callback per tenant (the redirect URI registered at every provider); the state names the provider.
    path("t/<slug:slug>/federation/callback/", federation_views.callback, name="federation_callback"),
]
