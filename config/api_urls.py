"""The Graph-shaped API under /v1.0/ and /beta/ (beta only where Graph v1.0 has no resource). Each app
contributes its endpoints; the conventions live in directory/api/."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView

from directory.api.batch import BatchView
from directory.api.errors import error_body
from policies.api import urls as policy_urls


class GraphSchemaView(SpectacularAPIView):
    """/v1.0/$schema: the OpenAPI document, generated from the code (directory/api/schema.py); JSON
    unless YAML is asked for (Accept: application/vnd.oai.openapi)."""

    contract_exempt = True  # public, like Graph's $metadata
    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2, OpenApiYamlRenderer, OpenApiYamlRenderer2]


@csrf_exempt
def unknown_segment(request, rest: str = ""):
    """Paths under /v1.0/ and /beta/ that name no endpoint answer like Graph, in JSON."""
    segment = next((s for s in reversed(rest.split("/")) if s), "")[:60]
    return JsonResponse(error_body("Request_BadRequest", f"Resource not found for the segment '{segment}'.", request),
                        status=400)


v1_patterns = [
    path("", include("directory.api.urls")),
    path("", include("invitations.api.urls")),
    path("", include(policy_urls.urlpatterns)),
    path("", include("entitlements.api.urls")),  # /identityGovernance/entitlementManagement/…
    path("$schema", GraphSchemaView.as_view(), name="graph-schema"),
    # issue 9c: JSON batching (directory/api/batch.py)
    path("$batch", BatchView.as_view(), name="graph-batch"),
    re_path(r"^(?P<rest>.*)$", unknown_segment),
]

beta_patterns = [
    path("", include(policy_urls.beta_urlpatterns)),
    re_path(r"^(?P<rest>.*)$", unknown_segment),
]

urlpatterns = [
    path("v1.0/", include(v1_patterns)),
    path("beta/", include(beta_patterns)),
]
