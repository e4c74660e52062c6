from django.urls import path

from . import views

app_name = "entitlements"

urlpatterns = [
    path("t/<slug:slug>/access/", views.MyAccessView.as_view(), name="my_access"),
    path("t/<slug:slug>/access/packages/<uuid:package_id>/", views.PackageView.as_view(), name="package"),
    path("t/<slug:slug>/access/packages/<uuid:package_id>/external/", views.ExternalPackageView.as_view(),
         name="external"),
    path("t/<slug:slug>/access/requests/<uuid:request_id>/cancel/", views.RequestCancelView.as_view(),
         name="cancel"),
    path("t/<slug:slug>/access/assignments/<uuid:assignment_id>/extend/", views.AssignmentExtendView.as_view(),
         name="extend"),
    path("t/<slug:slug>/access/assignments/<uuid:assignment_id>/remove/", views.AssignmentRemoveView.as_view(),
         name="remove"),
    path("t/<slug:slug>/approvals/", views.ApprovalsView.as_view(), name="approvals"),
    path("t/<slug:slug>/approvals/<uuid:request_id>/", views.ApprovalDecideView.as_view(), name="decide"),
    path("t/<slug:slug>/reviews/", views.ReviewsView.as_view(), name="reviews"),
    path("t/<slug:slug>/reviews/<uuid:instance_id>/", views.ReviewView.as_view(), name="review"),
]
