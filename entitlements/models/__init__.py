"""Entitlement management's models (re-exported: ``from entitlements.models import Catalog``)."""

from .catalogs import (
    Catalog,
    CatalogResource,
    CatalogRoleAssignment,
    EntitlementRoleAssignment,
    ResourceRole,
    role_origin_id,
)
from .lifecycle import ExternalUserLifecycle
from .organizations import ConnectedOrganization, EntitlementSettings
from .packages import AccessPackage, ApprovalStage, AssignmentPolicy, Question, ResourceRoleScope
from .requests import ApprovalStageRecord, Assignment, AssignmentRequest, Grant, StageApprover
from .reviews import AccessReviewDecision, AccessReviewDefinition, AccessReviewInstance, AccessReviewReviewer

__all__ = [
    "AccessPackage", "AccessReviewDecision", "AccessReviewDefinition", "AccessReviewInstance", "AccessReviewReviewer",
    "ApprovalStage", "ApprovalStageRecord", "Assignment", "AssignmentPolicy", "AssignmentRequest", "Catalog",
    "CatalogResource", "CatalogRoleAssignment", "ConnectedOrganization", "EntitlementRoleAssignment",
    "EntitlementSettings",
    "ExternalUserLifecycle", "Grant", "Question", "ResourceRole", "ResourceRoleScope", "StageApprover",
    "role_origin_id",
]
