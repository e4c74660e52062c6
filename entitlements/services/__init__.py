"""Every write of entitlement management (re-exported here); ``actor=`` first, never ``None``."""

from ._common import authorize_catalog, catalog_capabilities
from .catalogs import (
    catalog_create,
    catalog_creator_add,
    catalog_creator_remove,
    catalog_creator_validate,
    catalog_delete,
    catalog_resource_add,
    catalog_resource_remove,
    catalog_role_add,
    catalog_role_remove,
    catalog_update,
)
from .delivery import assignments_revoke, request_deliver
from .lifecycle import (
    block_then_delete,
    external_users_block_due,
    external_users_remove_due,
    unblock_if_pending,
)
from .organizations import (
    connected_organization_create,
    connected_organization_delete,
    connected_organization_sponsor_set,
    connected_organization_update,
    entitlement_settings_update,
    settings_for,
    validate_lifecycle_settings,
)
from .packages import (
    package_create,
    package_delete,
    package_incompatible_set,
    package_update,
    policy_create,
    policy_delete,
    policy_update,
    role_scope_add,
    role_scope_remove,
)
from .requests import (
    RequestData,
    RequestRefused,
    approval_decide,
    request_access,
    request_admin_add,
    request_cancel,
    request_extend,
    request_remove,
    request_reprocess,
)
from .reviews import (
    access_reviews_sweep,
    review_accept_recommendations,
    review_decisions_record,
    review_definition_check,
    review_definition_create,
    review_definition_delete,
    review_definition_update,
    review_instance_apply,
    review_instance_send_reminder,
    review_instance_stop,
)
from .sweeps import (
    assignments_expire_due,
    assignments_warn_expiring,
    requests_deliver_due,
    requests_sweep_approvals,
)

__all__ = [
    "RequestData", "RequestRefused", "access_reviews_sweep", "approval_decide", "assignments_expire_due",
    "assignments_revoke", "assignments_warn_expiring", "authorize_catalog", "block_then_delete",
    "catalog_capabilities", "catalog_create", "catalog_creator_add", "catalog_creator_remove",
    "catalog_creator_validate", "catalog_delete",
    "catalog_resource_add", "catalog_resource_remove",
    "catalog_role_add", "catalog_role_remove", "catalog_update", "connected_organization_create",
    "connected_organization_delete", "connected_organization_sponsor_set", "connected_organization_update",
    "entitlement_settings_update", "external_users_block_due", "external_users_remove_due", "package_create",
    "package_delete", "package_incompatible_set", "package_update", "policy_create", "policy_delete", "policy_update",
    "request_access", "request_admin_add", "request_cancel", "request_deliver", "request_extend", "request_remove",
    "request_reprocess", "requests_deliver_due", "requests_sweep_approvals", "review_accept_recommendations",
    "review_decisions_record", "review_definition_check", "review_definition_create", "review_definition_delete",
    "review_definition_update", "review_instance_apply", "review_instance_send_reminder", "review_instance_stop",
    "role_scope_add", "role_scope_remove", "settings_for", "unblock_if_pending", "validate_lifecycle_settings",
]
