from django.urls import path

from . import applications, audit, groups, organization, users

urlpatterns = [
    path("users", users.UsersView.as_view()),
    path("users/<str:user_id>", users.UserView.as_view()),
    path("users/<str:user_id>/memberOf", users.UserMemberOfView.as_view()),
    path("users/<str:user_id>/sponsors", users.UserSponsorsView.as_view()),
    path("me", users.MeView.as_view()),
    # groups ("$ref" is a literal path segment)
    path("groups", groups.GroupsView.as_view()),
    path("groups/<str:group_id>", groups.GroupView.as_view()),
    path("groups/<str:group_id>/members", groups.GroupMembersView.as_view()),
    path("groups/<str:group_id>/members/$ref", groups.GroupMemberRefView.as_view()),
    path("groups/<str:group_id>/members/<str:member_id>/$ref", groups.GroupMemberView.as_view()),
    path("groups/<str:group_id>/owners", groups.GroupOwnersView.as_view()),
    path("groups/<str:group_id>/owners/$ref", groups.GroupOwnerRefView.as_view()),
    path("groups/<str:group_id>/owners/<str:owner_id>/$ref", groups.GroupOwnerView.as_view()),
    # enterprise applications
    path("servicePrincipals", applications.ServicePrincipalsView.as_view()),
    path("servicePrincipals/<str:sp_id>", applications.ServicePrincipalView.as_view()),
    path("servicePrincipals/<str:sp_id>/appRoleAssignedTo", applications.AppRoleAssignedToView.as_view()),
    path("servicePrincipals/<str:sp_id>/appRoleAssignedTo/<str:assignment_id>",
         applications.AppRoleAssignmentView.as_view()),
    # the tenant
    path("organization", organization.OrganizationsView.as_view()),
    path("organization/<str:org_id>", organization.OrganizationView.as_view()),
    path("organization/<str:org_id>/branding", organization.BrandingView.as_view()),
    path("organization/<str:org_id>/branding/localizations", organization.BrandingLocalizationsView.as_view()),
    path("organization/<str:org_id>/branding/localizations/<str:localization_id>",
         organization.BrandingLocalizationView.as_view()),
    # audit
    path("auditLogs/directoryAudits", audit.DirectoryAuditsView.as_view()),
    path("auditLogs/directoryAudits/<str:audit_id>", audit.DirectoryAuditView.as_view()),
]

# --- issue 9c: delta queries. First in the list: "users/<str:user_id>" would take "delta" as an id.
from . import delta  # noqa: E402

urlpatterns[:0] = [
    path("users/delta", delta.UsersDeltaView.as_view()),
    path("users/delta()", delta.UsersDeltaFunctionView.as_view()),  # the msgraph SDKs call the function form
    path("groups/delta", delta.GroupsDeltaView.as_view()),
    path("groups/delta()", delta.GroupsDeltaFunctionView.as_view()),
]
