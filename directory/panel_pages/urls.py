from django.urls import path

from . import applications, groups

urlpatterns = [
    path("t/<slug:slug>/groups/", groups.MyGroupsView.as_view(), name="groups"),
    path("t/<slug:slug>/groups/<uuid:group_id>/", groups.GroupManageView.as_view(), name="group_manage"),
    path("t/<slug:slug>/requests/", groups.RequestsView.as_view(), name="requests"),
    path("t/<slug:slug>/apps/<uuid:app_id>/manage/", applications.AppManageView.as_view(), name="app_manage"),
    path("t/<slug:slug>/apps/<uuid:app_id>/request/", applications.AppAccessRequestView.as_view(),
         name="app_access_request"),
]
