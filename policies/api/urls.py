from django.urls import path

from . import agreements, conditional_access, cross_tenant, domain_federation, identity_providers, views

urlpatterns = [
    path("policies/authorizationPolicy", views.AuthorizationPolicyView.as_view()),
    path("policies/crossTenantAccessPolicy", cross_tenant.CrossTenantAccessPolicyView.as_view()),
    path("policies/crossTenantAccessPolicy/default", cross_tenant.DefaultView.as_view()),
    path("policies/crossTenantAccessPolicy/default/resetToSystemDefault", cross_tenant.ResetDefaultView.as_view()),
    path("policies/crossTenantAccessPolicy/partners", cross_tenant.PartnersView.as_view()),
    path("policies/crossTenantAccessPolicy/partners/<str:tenant_id>", cross_tenant.PartnerView.as_view()),
    path("identity/identityProviders", identity_providers.IdentityProvidersView.as_view()),
    path("identity/identityProviders/<str:provider_id>", identity_providers.IdentityProviderView.as_view()),
    path("identity/conditionalAccess/policies", conditional_access.PoliciesView.as_view()),
    path("identity/conditionalAccess/policies/<str:policy_id>", conditional_access.PolicyView.as_view()),
    path("identity/conditionalAccess/namedLocations", conditional_access.NamedLocationsView.as_view()),
    path("identity/conditionalAccess/namedLocations/<str:location_id>",
         conditional_access.NamedLocationView.as_view()),
    path("identity/conditionalAccess/evaluate", conditional_access.EvaluateView.as_view()),
    path("identityGovernance/termsOfUse/agreements", agreements.AgreementsView.as_view()),
    path("identityGovernance/termsOfUse/agreements/<str:agreement_id>", agreements.AgreementView.as_view()),
    path("identityGovernance/termsOfUse/agreements/<str:agreement_id>/acceptances",
         agreements.AgreementAcceptancesView.as_view()),
    *domain_federation.urlpatterns(),  # /directory/federationConfigurations/… (SAML/WS-Fed domain federation)
]

# Graph beta: the domain allow/deny list (v1.0 has no resource for it).
beta_urlpatterns = [
    path("policies/b2bManagementPolicies", views.B2BManagementPoliciesView.as_view()),
    path("policies/b2bManagementPolicies/<str:policy_id>", views.B2BManagementPolicyView.as_view()),
]
