"""Every write to the directory, one family per module (re-exported here).

Keyword-only, ``actor=`` first (an :class:`~directory.actors.Actor`, never ``None``), authorized
through :mod:`directory.authz`, validated (``full_clean``), one audit row per change, atomic. The
admin console, the API, the access panel, the CLI and the workers all call these.
"""

from ._common import (
    authorize,
    ensure_same_tenant,
    guest_user_principal_name,
    validate_sponsors,
    validate_user_principal_name,
)
from .app_registrations import (
    app_registration_create,
    app_registration_new_secret,
    app_registration_update,
    validate_redirect_uris,
)
from .applications import (
    app_assignment_create,
    app_assignment_delete,
    application_create,
    application_delete,
    application_update,
)
from .groups import (
    group_create,
    group_create_allowed,
    group_delete,
    group_member_add,
    group_member_remove,
    group_owner_add,
    group_owner_remove,
    group_update,
)
from .mfa import (
    MfaThrottled,
    authentication_method_delete,
    authentication_methods_reset,
    backup_codes_create,
    mfa_verify,
    totp_register,
)
from .outbox import outbox_enqueue, outbox_message, outbox_publish, outbox_retry_now
from .profile import user_leave_organization, user_profile_update
from .relations import user_set_manager, user_sponsor_add, user_sponsor_remove
from .requests import (
    application_access_request,
    application_self_service_refusal,
    approvers_of,
    group_join,
    group_leave,
    group_self_service_refusal,
    self_service_request_cancel,
    self_service_request_decide,
)
from .roles import role_assign, role_unassign
from .signins import sign_in_event_record, sign_in_events_purge
from .sponsors import notify_sponsors, notify_sponsors_many, register_sponsor_notice
from .tenants import (
    GROUP_SETTINGS,
    branding_delete,
    branding_save,
    domain_add,
    domain_mark_verified,
    domain_remove,
    domain_update,
    domain_verify,
    tenant_create,
    tenant_group_settings_update,
    tenant_update,
)
from .users import (
    build_guest_user,
    ensure_may_manage,
    guest_user_create,
    user_create,
    user_delete,
    user_delete_permanently,
    user_restore,
    user_update,
    users_block_many,
    users_delete_many,
    users_purge_deleted,
)

__all__ = [
    "GROUP_SETTINGS",
    "MfaThrottled",
    "app_assignment_create",
    "app_assignment_delete",
    "app_registration_create",
    "app_registration_new_secret",
    "app_registration_update",
    "application_access_request",
    "application_create",
    "application_delete",
    "application_self_service_refusal",
    "application_update",
    "approvers_of",
    "authentication_method_delete",
    "authentication_methods_reset",
    "authorize",
    "backup_codes_create",
    "branding_delete",
    "branding_save",
    "build_guest_user",
    "domain_add",
    "domain_mark_verified",
    "domain_remove",
    "domain_update",
    "domain_verify",
    "ensure_may_manage",
    "ensure_same_tenant",
    "group_create",
    "group_create_allowed",
    "group_delete",
    "group_join",
    "group_leave",
    "group_member_add",
    "group_member_remove",
    "group_owner_add",
    "group_owner_remove",
    "group_self_service_refusal",
    "group_update",
    "guest_user_create",
    "guest_user_principal_name",
    "mfa_verify",
    "notify_sponsors",
    "notify_sponsors_many",
    "outbox_enqueue",
    "outbox_message",
    "outbox_publish",
    "outbox_retry_now",
    "register_sponsor_notice",
    "role_assign",
    "role_unassign",
    "self_service_request_cancel",
    "self_service_request_decide",
    "sign_in_event_record",
    "sign_in_events_purge",
    "tenant_create",
    "tenant_group_settings_update",
    "tenant_update",
    "totp_register",
    "user_create",
    "user_delete",
    "user_delete_permanently",
    "user_leave_organization",
    "user_profile_update",
    "user_restore",
    "user_set_manager",
    "user_sponsor_add",
    "user_sponsor_remove",
    "user_update",
    "users_block_many",
    "users_delete_many",
    "users_purge_deleted",
    "validate_redirect_uris",
    "validate_sponsors",
    "validate_user_principal_name",
]
