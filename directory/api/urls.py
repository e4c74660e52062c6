from django.urls import path

from . import applications, audit, deleted_items, delta, groups, navigation, organization, signins, users
from .navigation import GROUP_CASTS, USER_CASTS

# Fixed segments first, so that "users/<str:user_id>" does not take "delta", "$count" or a cast for an id.
_nav = navigation
urlpatterns = [
    path("users/delta", delta.UsersDeltaView.as_view()),
    path("users/delta()", delta.UsersDeltaFunctionView.as_view()),  # the msgraph SDKs call the function form
    path("groups/delta", delta.GroupsDeltaView.as_view()),
    path("groups/delta()", delta.GroupsDeltaFunctionView.as_view()),
    path("users/$count", _nav.UsersCountView.as_view()),
    path("groups/$count", _nav.GroupsCountView.as_view()),
    path("users/<str:user_id>/manager", _nav.UserManagerView.as_view()),
    path("users/<str:user_id>/manager/$ref", _nav.UserManagerRefView.as_view()),
    path("users/<str:user_id>/sponsors/$count", _nav.UserSponsorsCountView.as_view()),
    path("users/<str:user_id>/sponsors/$ref", _nav.UserSponsorsRefView.as_view()),
    path("users/<str:user_id>/sponsors/<str:sponsor_id>/$ref", _nav.UserSponsorRefView.as_view()),
    path("users/<str:user_id>/appRoleAssignments", _nav.UserAppRoleAssignmentsView.as_view()),
    path("users/<str:user_id>/checkMemberGroups", _nav.CheckMemberGroupsView.as_view()),
    path("users/<str:user_id>/checkMemberObjects", _nav.CheckMemberObjectsView.as_view()),
    path("users/<str:user_id>/getMemberGroups", _nav.GetMemberGroupsView.as_view()),
    path("users/<str:user_id>/getMemberObjects", _nav.GetMemberObjectsView.as_view()),
    path("users/<str:user_id>/memberOf/$count", _nav.UserGroupsCountView.as_view()),
    path("users/<str:user_id>/transitiveMemberOf", _nav.UserTransitiveMemberOfView.as_view()),
    path("users/<str:user_id>/transitiveMemberOf/$count", _nav.UserGroupsCountView.as_view()),
    *[route for cast in GROUP_CASTS for route in (
        path(f"users/<str:user_id>/memberOf/{cast}", _nav.UserMemberOfGroupsView.as_view()),
        path(f"users/<str:user_id>/memberOf/{cast}/$count", _nav.UserGroupsCountView.as_view()),
        path(f"users/<str:user_id>/transitiveMemberOf/{cast}", _nav.UserTransitiveMemberOfGroupsView.as_view()),
        path(f"users/<str:user_id>/transitiveMemberOf/{cast}/$count", _nav.UserGroupsCountView.as_view()),
    )],
    path("groups/<str:group_id>/members/$count", _nav.GroupMembersCountView.as_view()),
    path("groups/<str:group_id>/transitiveMembers", _nav.GroupTransitiveMembersView.as_view()),
    path("groups/<str:group_id>/transitiveMembers/$count", _nav.GroupMembersCountView.as_view()),
    *[route for cast in USER_CASTS for route in (
        path(f"groups/<str:group_id>/members/{cast}", _nav.GroupMembersUsersView.as_view()),
        path(f"groups/<str:group_id>/members/{cast}/$count", _nav.GroupMembersCountView.as_view()),
        path(f"groups/<str:group_id>/transitiveMembers/{cast}", _nav.GroupTransitiveMembersUsersView.as_view()),
        path(f"groups/<str:group_id>/transitiveMembers/{cast}/$count", _nav.GroupMembersCountView.as_view()),
        path(f"directory/deletedItems/{cast}", deleted_items.DeletedUsersView.as_view()),
        path(f"directory/deletedItems/{cast}/$count", deleted_items.DeletedUsersCountView.as_view()),
        path(f"directory/deletedItems/<str:deleted_id>/{cast}", deleted_items.DeletedItemUserView.as_view()),
    )],
    *[route for cast in GROUP_CASTS for route in (
        path(f"directory/deletedItems/{cast}", deleted_items.DeletedGroupsView.as_view()),
        path(f"directory/deletedItems/{cast}/$count", deleted_items.DeletedGroupsCountView.as_view()),
    )],
    path("directory/deletedItems/<str:deleted_id>", deleted_items.DeletedItemView.as_view()),
    path("directory/deletedItems/<str:deleted_id>/restore", deleted_items.RestoreDeletedItemView.as_view()),
    # --- end of 9b
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
    path("auditLogs/signIns", signins.SignInsView.as_view()),
    path("auditLogs/signIns/<str:sign_in_id>", signins.SignInView.as_view()),
]
