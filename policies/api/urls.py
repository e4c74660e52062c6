from django.urls import path

from . import views

urlpatterns = [
    path("policies/authorizationPolicy", views.AuthorizationPolicyView.as_view()),
]

# Graph beta: the domain allow/deny list (v1.0 has no resource for it).
beta_urlpatterns = [
    path("policies/b2bManagementPolicies", views.B2BManagementPoliciesView.as_view()),
    path("policies/b2bManagementPolicies/<str:policy_id>", views.B2BManagementPolicyView.as_view()),
]
