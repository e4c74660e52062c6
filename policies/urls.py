from django.urls import path

from . import saml_views, views
from .federation import views as federation_views

app_name = "policies"

urlpatterns = [
    path("t/<slug:slug>/terms-of-use/", views.TermsOfUseView.as_view(), name="terms_of_use"),
    # An external identity provider's sign-in (OpenID Connect, Google, Microsoft, a partner deployment).
    path("t/<slug:slug>/federation/<uuid:idp_id>/begin/", federation_views.begin, name="federation_begin"),
    # One callback per tenant (the redirect URI registered at every provider); the state names the provider.
    path("t/<slug:slug>/federation/callback/", federation_views.callback, name="federation_callback"),
    path("t/<slug:slug>/saml/<str:federation_id>/metadata/", saml_views.saml_metadata, name="saml_metadata"),
    path("t/<slug:slug>/saml/<str:federation_id>/begin/", saml_views.saml_begin, name="saml_begin"),
    path("t/<slug:slug>/saml/<str:federation_id>/acs/", saml_views.saml_acs, name="saml_acs"),
]
