from django.urls import path

from . import saml_views, views

app_name = "policies"

urlpatterns = [
    path("t/<slug:slug>/terms-of-use/", views.TermsOfUseView.as_view(), name="terms_of_use"),
    path("t/<slug:slug>/saml/<str:federation_id>/metadata/", saml_views.saml_metadata, name="saml_metadata"),
    path("t/<slug:slug>/saml/<str:federation_id>/begin/", saml_views.saml_begin, name="saml_begin"),
    path("t/<slug:slug>/saml/<str:federation_id>/acs/", saml_views.saml_acs, name="saml_acs"),
]
