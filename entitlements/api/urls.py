from django.urls import path

from . import reviews as ar
from . import views as v

B = "identityGovernance/entitlementManagement/"
AR = "identityGovernance/accessReviews/"

urlpatterns = [
    path(B + "catalogs", v.CatalogsView.as_view()),
    path(B + "catalogs/<str:catalog_id>", v.CatalogView.as_view()),
    path(B + "catalogs/<str:catalog_id>/resources", v.CatalogResourcesView.as_view()),
    path(B + "catalogs/<str:catalog_id>/resourceRoles", v.CatalogResourceRolesView.as_view()),
    path(B + "resourceRequests", v.ResourceRequestsView.as_view()),
    path(B + "accessPackages", v.PackagesView.as_view()),
    path(B + "accessPackages/filterByCurrentUser(on='allowedRequestor')", v.PackagesForMeView.as_view()),
    path(B + "accessPackages/<str:package_id>", v.PackageView.as_view()),
    path(B + "accessPackages/<str:package_id>/resourceRoleScopes", v.RoleScopesView.as_view()),
    path(B + "accessPackages/<str:package_id>/incompatibleAccessPackages", v.IncompatiblePackagesView.as_view()),
    path(B + "accessPackages/<str:package_id>/incompatibleAccessPackages/$ref",
         v.IncompatiblePackagesRefView.as_view()),
    path(B + "assignmentPolicies", v.PoliciesView.as_view()),
    path(B + "assignmentPolicies/<str:policy_id>", v.PolicyView.as_view()),
    path(B + "assignmentRequests", v.RequestsView.as_view()),
    path(B + "assignmentRequests/<str:request_id>", v.RequestView.as_view()),
    path(B + "assignmentRequests/<str:request_id>/cancel", v.RequestCancelView.as_view()),
    path(B + "assignmentRequests/<str:request_id>/reprocess", v.RequestReprocessView.as_view()),
    path(B + "assignments", v.AssignmentsView.as_view()),
    path(B + "assignments/filterByCurrentUser(on='target')", v.MyAssignmentsView.as_view()),
    path(B + "assignments/<str:assignment_id>", v.AssignmentView.as_view()),
    path(B + "accessPackageAssignmentApprovals/<str:approval_id>", v.ApprovalView.as_view()),
    path(B + "accessPackageAssignmentApprovals/<str:approval_id>/stages/<str:stage_id>", v.ApprovalStageView.as_view()),
    path(B + "connectedOrganizations", v.OrganizationsView.as_view()),
    path(B + "connectedOrganizations/<str:org_id>", v.OrganizationView.as_view()),
    path(B + "connectedOrganizations/<str:org_id>/internalSponsors", v.SponsorsView.as_view()),
    path(B + "connectedOrganizations/<str:org_id>/internalSponsors/$ref", v.SponsorsRefView.as_view()),
    path(B + "connectedOrganizations/<str:org_id>/externalSponsors", v.ExternalSponsorsView.as_view()),
    path(B + "connectedOrganizations/<str:org_id>/externalSponsors/$ref", v.ExternalSponsorsRefView.as_view()),
    path(B + "settings", v.SettingsView.as_view()),
    # Entra's catalog creators (Graph: roleManagement/entitlementManagement, directory scope "/")
    path("roleManagement/entitlementManagement/roleAssignments", v.RoleAssignmentsView.as_view()),
    path("roleManagement/entitlementManagement/roleAssignments/<str:assignment_id>", v.RoleAssignmentView.as_view()),
    # Access reviews (entitlements/api/reviews.py)
    path(AR + "definitions", ar.DefinitionsView.as_view()),
    path(AR + "definitions/filterByCurrentUser(on='reviewer')", ar.MyDefinitionsView.as_view()),
    path(AR + "definitions/<str:definition_id>", ar.DefinitionView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances", ar.InstancesView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/filterByCurrentUser(on='reviewer')",
         ar.MyInstancesView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>", ar.InstanceView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/stop", ar.StopView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/applyDecisions",
         ar.ApplyDecisionsView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/sendReminder", ar.SendReminderView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/batchRecordDecisions",
         ar.BatchRecordDecisionsView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/acceptRecommendations",
         ar.AcceptRecommendationsView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/decisions", ar.DecisionsView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/decisions/filterByCurrentUser(on='reviewer')",
         ar.MyDecisionsView.as_view()),
    path(AR + "definitions/<str:definition_id>/instances/<str:instance_id>/decisions/<str:decision_id>",
         ar.DecisionView.as_view()),
]
