"""Entitlement management in the admin console: catalogs, resources, packages, policies (a form that
reads like Entra's wizard), requests, assignments (direct assignment and removal), connected
organizations. Every write goes through :mod:`entitlements.services`."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, UUIDField, Value
from django.utils.translation import gettext_lazy as _

from directory import authz
from directory.admin.base import ReadOnlyAdmin, TenantModelForm, TenantScopedAdmin, actor_for
from directory.admin.user_page import UserSection, register_user_section
from directory.models import Group, User

from . import services
from .models import (
    AccessPackage,
    Assignment,
    AssignmentPolicy,
    AssignmentRequest,
    Catalog,
    CatalogResource,
    CatalogRoleAssignment,
    ConnectedOrganization,
    EntitlementRoleAssignment,
    EntitlementSettings,
    ExternalUserLifecycle,
    ResourceRoleScope,
)

T = AssignmentPolicy.TargetScope
#: What creating a catalog needs of a role-only viewer: Entra's catalog creator role in the tenant.
CREATE_CATALOG = "create catalog"


def _single(user) -> dict:
    return {"@odata.type": "#microsoft.graph.singleUser", "userId": str(user.pk)}


class _CatalogScoped:
    """Catalog role holders without a tenant-wide entitlement permission (Entra's catalog owner, reader,
    access package manager, access package assignment manager) reach the console's entitlement area of
    their tenant: there they see only the catalogs they hold a role in and what those hold (another
    catalog's objects are 404), and change what their role allows (``authz.CATALOG_ROLE_CAPABILITIES``;
    the services check the same). Tenant-wide administrators see and manage every catalog."""

    area = "entitlement"
    #: From the model to its catalog ("" for a catalog itself); None: tenant-wide administrators only.
    catalog_path: str | None = "catalog"
    #: What changing, adding or deleting one needs in its catalog (None: tenant-wide only).
    catalog_need: str | None = "catalog"
    catalog_add_need: str | None = "catalog"

    def _catalog_roles(self, request) -> dict:
        """{catalog id: capabilities} of the viewer's catalog roles and {tenant id} of those and of their
        catalog creator roles, once a request (one query)."""
        if not hasattr(request, "_em_catalog_roles"):
            roles: dict = {}
            tenants: set = set()
            creator: dict = {}
            if request.user.is_authenticated:
                holder = {"user__account": request.user, "user__deleted_at__isnull": True,
                          "user__account_enabled": True}
                for catalog_id, tenant_id, role in CatalogRoleAssignment.objects.filter(**holder).values_list(
                        "catalog_id", "tenant_id", "role").union(
                        EntitlementRoleAssignment.objects.filter(**holder).annotate(
                            no_catalog=Value(None, output_field=UUIDField())).values_list("no_catalog", "tenant_id", "role"),
                        all=True):
                    if catalog_id is None:  # a tenant-wide entitlement-management role (catalog creator)
                        creator.setdefault(tenant_id, []).append(role)
                    else:
                        roles.setdefault(catalog_id, set()).update(authz.CATALOG_ROLE_CAPABILITIES.get(role, ()))
                    tenants.add(tenant_id)
            request._em_catalog_roles = (roles, tenants)
            request._em_creator_tenants = {tenant_id for tenant_id, held in creator.items()
                                           if authz.may_create_catalog(tenant_capabilities=(), entitlement_roles=held)}
        return request._em_catalog_roles

    def _creator_tenants(self, request) -> set:
        """{tenant id} where the viewer may create catalogs through Entra's catalog creator role."""
        self._catalog_roles(request)
        return request._em_creator_tenants

    def _role_only_tenants(self, request) -> set:
        """Tenants where the viewer acts only through catalog roles (no tenant-wide read)."""
        if self.catalog_path is None or request.user.is_superuser:
            return set()
        _roles, tenants = self._catalog_roles(request)
        return tenants - set(TenantScopedAdmin.tenant_ids(self, request, manage=False)) if tenants else set()

    def tenant_ids(self, request, *, manage: bool = False):
        ids = super().tenant_ids(request, manage=manage)
        if ids and not self._entitlement_page(request):
            return ids  # elsewhere (the console's navigation) the tenant-wide answer suffices: no query
        extra = self._role_only_tenants(request)
        return set(ids) | extra if extra else ids

    @staticmethod
    def _entitlement_page(request) -> bool:
        match = getattr(request, "resolver_match", None)
        return bool(match and (match.url_name or "").startswith(f"{Catalog._meta.app_label}_"))

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        role_only = self._role_only_tenants(request)
        if not role_only:
            return qs
        roles, _tenants = self._catalog_roles(request)
        return qs.filter(~Q(**{f"{self.tenant_path}__in": role_only})
                         | Q(**{f"{self.catalog_path or 'pk'}__in": list(roles)}))

    def _catalog_id(self, obj):
        if not self.catalog_path:
            return obj.pk
        for part in self.catalog_path.split("__")[:-1]:
            obj = getattr(obj, part)
        return getattr(obj, f"{self.catalog_path.split('__')[-1]}_id")

    def _may(self, request, obj, need) -> bool:
        """Beyond the tenant: may a role-only viewer do ``need`` on ``obj`` (None: in some catalog)?"""
        if obj is None:
            if request.user.is_superuser or TenantScopedAdmin.tenant_ids(self, request, manage=True):
                return True  # a tenant-wide manager (no query): the page itself decides what may be added
            # A role-only viewer, on every page (the console's home and navigation too, which offer "Add"):
            # only what one of their catalog roles allows somewhere (their roles: one query a request).
            roles, _tenants = self._catalog_roles(request)
            if need == CREATE_CATALOG:
                return bool(self._creator_tenants(request))
            return need is not None and any(need in caps for caps in roles.values())
        if self._tenant_of(obj) not in self._role_only_tenants(request):
            return True
        roles, _tenants = self._catalog_roles(request)
        return need is not None and need in roles.get(self._catalog_id(obj), ())

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and self._may(request, None, self.catalog_add_need)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may(request, obj, self.catalog_need)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may(request, obj, self.catalog_need)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        path = {Catalog: "pk", AccessPackage: "catalog", AssignmentPolicy: "package__catalog"}.get(
            db_field.related_model)
        role_only = self._role_only_tenants(request) if path else set()
        if field is not None and role_only:
            roles, _tenants = self._catalog_roles(request)
            need = self.catalog_add_need or self.catalog_need
            allowed = [catalog for catalog, caps in roles.items() if need in caps]
            field.queryset = field.queryset.filter(~Q(tenant__in=role_only) | Q(**{f"{path}__in": allowed}))
        return field


class _EntitlementAdmin(_CatalogScoped, TenantScopedAdmin):
    area = "entitlement"
    list_per_page = 100

    def _run(self, request, call):
        try:
            return call()
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
            raise


class CatalogRoleInline(admin.TabularInline):
    """A catalog's "Roles and administrators" (Entra): owners, readers, access package managers and
    assignment managers, added and removed through the services by whoever may change the catalog (its
    owners, tenant-wide administrators); a role is not edited in place, it is removed and added."""

    model = CatalogRoleAssignment
    fields = ("user", "role")
    raw_id_fields = ("user",)
    extra = 0
    verbose_name = _("catalog role")
    verbose_name_plural = _("roles and administrators")

    def _may_manage(self, request, obj) -> bool:
        return obj is not None and "catalog" in services.catalog_capabilities(actor_for(request, obj), obj)

    def has_view_permission(self, request, obj=None):
        return obj is not None  # on a catalog's page (which decided who sees it), not on a new one's

    def get_queryset(self, request):
        # The stock inline asks has_view_permission without the catalog; the formset keeps to the catalog.
        return CatalogRoleAssignment.objects.select_related("user")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return self._may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_manage(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None and "user" in formset.form.base_fields:  # members and guests of the catalog's tenant
            formset.form.base_fields["user"].queryset = User.objects.filter(tenant_id=obj.tenant_id,
                                                                             deleted_at__isnull=True)
        return formset


@admin.register(Catalog)
class CatalogAdmin(_EntitlementAdmin):
    catalog_path = ""
    catalog_add_need = CREATE_CATALOG  # a new catalog: tenant-wide administrators and catalog creators
    list_display = ("display_name", "state", "is_externally_visible", "created_at", "tenant")
    search_fields = ("display_name",)
    list_select_related = ("tenant",)
    fields = ("tenant", "display_name", "description", "state", "is_externally_visible")
    inlines = [CatalogRoleInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not CatalogRoleAssignment:
            return super().save_formset(request, form, formset, change)
        catalog = form.instance
        # The admin's change message reads these lists, which formset.save() would have filled.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            instance = inline_form.instance
            new = instance._state.adding  # (a new row's id is already set: a UUID default)
            if not new and formset.can_delete and formset._should_delete_form(inline_form):
                self._run(request, lambda i=instance: services.catalog_role_remove(
                    actor=self.actor(request, catalog), assignment=i))
                formset.deleted_objects.append(instance)
            elif new and inline_form.has_changed():
                data = inline_form.cleaned_data
                formset.new_objects.append(self._run(request, lambda d=data: services.catalog_role_add(
                    actor=self.actor(request, catalog), catalog=catalog, user=d["user"], role=d["role"])))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        role_only = self._role_only_tenants(request) if db_field.name == "tenant" else set()
        if field is not None and role_only:  # where the viewer has only roles: the tenants they create catalogs in
            field.queryset = field.queryset.filter(~Q(pk__in=role_only) | Q(pk__in=self._creator_tenants(request)))
        return field

    def service_create(self, request, obj, form):
        return services.catalog_create(actor=self.actor(request, obj.tenant), tenant=obj.tenant,
                                       display_name=obj.display_name, description=obj.description, state=obj.state,
                                       is_externally_visible=obj.is_externally_visible)

    def service_update(self, request, obj, changes):
        services.catalog_update(actor=self.actor(request, obj), catalog=Catalog.objects.get(pk=obj.pk), changes=changes)

    def service_delete(self, request, obj):
        services.catalog_delete(actor=self.actor(request, obj), catalog=obj)


class CatalogCreatorForm(TenantModelForm):
    class Meta:
        model = EntitlementRoleAssignment
        fields = ("tenant", "user")

    def clean(self):
        data = super().clean()
        tenant, user = data.get("tenant"), data.get("user")
        if tenant and user:
            services.catalog_creator_validate(tenant=tenant, user=user)  # the service's rule, asked before saving
        return data


@admin.register(EntitlementRoleAssignment)
class CatalogCreatorAdmin(_EntitlementAdmin):
    """Entra's catalog creators (Identity Governance → Settings → Roles): members who create catalogs and
    own what they create, without seeing the other catalogs. Tenant-wide administrators name them."""

    catalog_path = None  # the tenant's, not a catalog's
    form = CatalogCreatorForm
    raw_id_fields = ("user",)
    list_display = ("user", "role", "created_at", "tenant")
    list_select_related = ("user", "tenant")
    search_fields = ("user__display_name", "user__user_principal_name")
    fields = ("tenant", "user")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def service_create(self, request, obj, form):
        return services.catalog_creator_add(actor=self.actor(request, obj.tenant), tenant=obj.tenant, user=obj.user)

    def service_delete(self, request, obj):
        services.catalog_creator_remove(actor=self.actor(request, obj), assignment=obj)


class ResourceForm(TenantModelForm):
    class Meta:
        model = CatalogResource
        fields = ("catalog", "group", "application")

    def clean(self):
        data = super().clean()
        if bool(data.get("group")) == bool(data.get("application")):
            raise ValidationError(_("Choose a group or an application."))
        return data


@admin.register(CatalogResource)
class CatalogResourceAdmin(_EntitlementAdmin):
    form = ResourceForm
    list_display = ("__str__", "origin_system", "catalog", "created_at", "tenant")
    list_select_related = ("catalog", "group", "application", "tenant")
    fields = ("catalog", "group", "application")

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = self._run(request, lambda: services.catalog_resource_add(
            actor=self.actor(request, obj.catalog), catalog=obj.catalog, obj=obj.group or obj.application))
        obj.pk = created.pk
        obj._state.adding = False

    def service_delete(self, request, obj):
        services.catalog_resource_remove(actor=self.actor(request, obj.catalog), resource=obj)


class RoleScopeInline(admin.TabularInline):
    model = ResourceRoleScope
    fields = ("resource", "role", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AccessPackage)
class AccessPackageAdmin(_EntitlementAdmin):
    catalog_need = catalog_add_need = "packages"
    list_display = ("display_name", "catalog", "is_hidden", "created_at", "tenant")
    search_fields = ("display_name",)
    list_select_related = ("catalog", "tenant")
    fields = ("catalog", "display_name", "description", "is_hidden", "incompatible_packages", "incompatible_groups")
    filter_horizontal = ("incompatible_packages", "incompatible_groups")
    inlines = [RoleScopeInline]

    def get_readonly_fields(self, request, obj=None):
        return ("catalog",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            changes = self.form_changes(obj, form)
            self._run(request, lambda: services.package_update(actor=self.actor(request, obj), package=obj,
                                                               changes=changes))
            return
        catalog = form.cleaned_data["catalog"]
        package = self._run(request, lambda: services.package_create(
            actor=self.actor(request, catalog), catalog=catalog, display_name=obj.display_name,
            description=obj.description, is_hidden=obj.is_hidden))
        relations = {n: list(form.cleaned_data.get(n) or []) for n in ("incompatible_packages", "incompatible_groups")}
        if any(relations.values()):
            services.package_update(actor=self.actor(request, catalog), package=package, changes=relations)
        obj.pk = package.pk
        obj._state.adding = False

    def service_delete(self, request, obj):
        services.package_delete(actor=self.actor(request, obj), package=obj)


@admin.register(ResourceRoleScope)
class ResourceRoleScopeAdmin(_EntitlementAdmin):
    """What a package grants: a group's members or owners, an application's default access."""

    catalog_path = "package__catalog"
    catalog_need = catalog_add_need = "packages"
    tenant_path = "package__tenant"
    list_display = ("package", "resource", "role", "created_at")
    list_select_related = ("package", "resource__group", "resource__application")
    fields = ("package", "resource", "role")

    def _tenant_of(self, obj):
        return obj.package.tenant_id

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_list_filter(self, request):
        return ()

    def save_model(self, request, obj, form, change):
        created = self._run(request, lambda: services.role_scope_add(
            actor=self.actor(request, obj.package), package=obj.package, resource=obj.resource, role=obj.role))
        obj.pk = created.pk
        obj._state.adding = False

    def service_delete(self, request, obj):
        services.role_scope_remove(actor=self.actor(request, obj.package), scope=obj)


class PolicyForm(TenantModelForm):
    """Entra's policy wizard on one page: who may request, approval, the requestor's information, the
    lifecycle. The service receives Graph's subject sets, stages and questions built from it."""

    specific_users = forms.ModelMultipleChoiceField(User.objects.none(), required=False,
                                                    label=_("Specific users who may request"))
    specific_groups = forms.ModelMultipleChoiceField(Group.objects.none(), required=False,
                                                     label=_("Members of these groups may request"))
    specific_organizations = forms.ModelMultipleChoiceField(ConnectedOrganization.objects.none(), required=False,
                                                            label=_("Users of these connected organizations"))
    stage1_approvers = forms.ModelMultipleChoiceField(User.objects.none(), required=False,
                                                      label=_("First approvers"))
    stage1_manager = forms.BooleanField(required=False, label=_("The requestor's manager approves first"))
    stage1_days = forms.IntegerField(min_value=1, max_value=14, initial=14, label=_("Decision must be made in (days)"))
    stage1_justification = forms.BooleanField(required=False, label=_("Approvers must give a justification"))
    stage1_alternates = forms.ModelMultipleChoiceField(User.objects.none(), required=False,
                                                       label=_("Forward to alternate approvers if no action is taken"))
    stage1_forward_days = forms.IntegerField(min_value=1, max_value=13, required=False,
                                             label=_("Forward after (days)"))
    stage2_approvers = forms.ModelMultipleChoiceField(User.objects.none(), required=False,
                                                      label=_("Second approvers (a second stage)"))
    stage2_days = forms.IntegerField(min_value=1, max_value=14, initial=14, required=False,
                                     label=_("Second stage: decision must be made in (days)"))
    question = forms.CharField(required=False, max_length=512, label=_("Question for the requestor (English)"))
    question_de = forms.CharField(required=False, max_length=512, label=_("The question in German"))
    question_required = forms.BooleanField(required=False, label=_("An answer is required"))
    expiration_days = forms.IntegerField(min_value=1, max_value=3660, required=False,
                                         label=_("Access expires after (days)"))

    MODEL_FIELDS = ("display_name", "description", "allowed_target_scope", "enable_targets_to_self_add",
                    "is_approval_required_for_add", "is_requestor_justification_required", "expiration_type",
                    "expiration_end", "enable_targets_to_self_update", "is_approval_required_for_update",
                    "enable_targets_to_self_remove", "allow_custom_schedule")

    class Meta:
        model = AssignmentPolicy
        fields = ("package", "display_name", "description", "allowed_target_scope", "enable_targets_to_self_add",
                  "is_approval_required_for_add", "is_requestor_justification_required",
                  "expiration_type", "expiration_end", "enable_targets_to_self_update",
                  "is_approval_required_for_update", "enable_targets_to_self_remove", "allow_custom_schedule")
        widgets = {"allowed_target_scope": forms.RadioSelect, "expiration_type": forms.RadioSelect}

    def __init__(self, *args, tenant_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        users = User.objects.filter(tenant__in=tenant_ids, deleted_at__isnull=True).select_related("tenant")
        for name in ("specific_users", "stage1_approvers", "stage1_alternates", "stage2_approvers"):
            self.fields[name].queryset = users
        self.fields["specific_groups"].queryset = Group.objects.filter(tenant__in=tenant_ids)
        self.fields["specific_organizations"].queryset = ConnectedOrganization.objects.filter(tenant__in=tenant_ids)
        policy = self.instance
        if policy.pk:
            self._load(policy)

    def _load(self, policy):
        targets = policy.specific_allowed_targets
        self.initial["specific_users"] = [t["userId"] for t in targets if t.get("userId")]
        self.initial["specific_groups"] = [t["groupId"] for t in targets if t.get("groupId")]
        self.initial["specific_organizations"] = [t["connectedOrganizationId"] for t in targets
                                                  if t.get("connectedOrganizationId")]
        stages = list(policy.stages.all())
        if stages:
            first = stages[0]
            self.initial["stage1_approvers"] = [a["userId"] for a in first.primary_approvers if a.get("userId")]
            self.initial["stage1_manager"] = any("requestorManager" in str(a.get("@odata.type"))
                                                 for a in first.primary_approvers)
            self.initial["stage1_days"] = first.duration_before_automatic_denial.days
            self.initial["stage1_justification"] = first.is_approver_justification_required
            self.initial["stage1_alternates"] = [a["userId"] for a in first.escalation_approvers if a.get("userId")]
            if first.duration_before_escalation:
                self.initial["stage1_forward_days"] = first.duration_before_escalation.days
        if len(stages) > 1:
            self.initial["stage2_approvers"] = [a["userId"] for a in stages[1].primary_approvers if a.get("userId")]
            self.initial["stage2_days"] = stages[1].duration_before_automatic_denial.days
        question = policy.questions.first()
        if question:
            self.initial.update(question=question.text, question_de=question.localizations.get("de", ""),
                                question_required=question.is_required)
        if policy.expiration_duration:
            self.initial["expiration_days"] = policy.expiration_duration.days

    def policy_input(self) -> tuple[dict, list, list]:
        data = self.cleaned_data
        fields = {name: data[name] for name in self.MODEL_FIELDS if name in data}
        fields["specific_allowed_targets"] = (
            [_single(u) for u in data["specific_users"]]
            + [{"@odata.type": "#microsoft.graph.groupMembers", "groupId": str(g.pk)} for g in data["specific_groups"]]
            + [{"@odata.type": "#microsoft.graph.connectedOrganizationMembers", "connectedOrganizationId": str(o.pk)}
               for o in data["specific_organizations"]])
        fields["expiration_duration"] = timedelta(days=data["expiration_days"]) if data.get("expiration_days") else None
        stages = []
        if data.get("is_approval_required_for_add") or data.get("is_approval_required_for_update"):
            primaries = [_single(u) for u in data["stage1_approvers"]]
            if data.get("stage1_manager"):
                primaries.insert(0, {"@odata.type": "#microsoft.graph.requestorManager", "managerLevel": 1})
            first = {"primary_approvers": primaries,
                     "duration_before_automatic_denial": timedelta(days=data["stage1_days"]),
                     "is_approver_justification_required": data.get("stage1_justification", False)}
            if data.get("stage1_alternates"):
                first.update(is_escalation_enabled=True,
                             duration_before_escalation=timedelta(days=data.get("stage1_forward_days") or 1),
                             escalation_approvers=[_single(u) for u in data["stage1_alternates"]])
            stages.append(first)
            if data.get("stage2_approvers"):
                stages.append({"primary_approvers": [_single(u) for u in data["stage2_approvers"]],
                               "duration_before_automatic_denial": timedelta(days=data.get("stage2_days") or 14)})
        questions = []
        if data.get("question"):
            questions.append({"text": data["question"], "is_required": data.get("question_required", False),
                              "localizations": {"de": data["question_de"]} if data.get("question_de") else {}})
        return fields, stages, questions


@admin.register(AssignmentPolicy)
class AssignmentPolicyAdmin(_EntitlementAdmin):
    catalog_path = "package__catalog"
    catalog_need = catalog_add_need = "packages"
    form = PolicyForm
    list_display = ("display_name", "package", "allowed_target_scope", "is_approval_required_for_add",
                    "expiration_type", "tenant")
    list_select_related = ("package", "tenant")
    fieldsets = (
        (_("Basics"), {"fields": ("package", "display_name", "description")}),
        (_("Users who can request access"), {"fields": (
            "allowed_target_scope", "specific_users", "specific_groups", "specific_organizations",
            "enable_targets_to_self_add")}),
        (_("Approval"), {"fields": (
            "is_approval_required_for_add", "is_requestor_justification_required", "stage1_approvers",
            "stage1_manager", "stage1_days", "stage1_justification", "stage1_alternates", "stage1_forward_days",
            "stage2_approvers", "stage2_days")}),
        (_("Requestor information"), {"fields": ("question", "question_de", "question_required",
                                                  "allow_custom_schedule")}),
        (_("Lifecycle"), {"fields": ("expiration_type", "expiration_end", "expiration_days",
                                     "enable_targets_to_self_update", "is_approval_required_for_update",
                                     "enable_targets_to_self_remove")}),
    )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        ids = list(self.tenant_ids(request, manage=True))

        class Scoped(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, tenant_ids=ids, **inner)

        return Scoped

    def get_readonly_fields(self, request, obj=None):
        return ("package",) if obj is not None else ()

    def save_model(self, request, obj, form, change):
        fields, stages, questions = form.policy_input()
        if change:
            self._run(request, lambda: services.policy_update(
                actor=self.actor(request, obj), policy=AssignmentPolicy.objects.get(pk=obj.pk), changes=fields,
                stages=stages, questions=questions))
            return
        package = form.cleaned_data["package"]
        created = self._run(request, lambda: services.policy_create(
            actor=self.actor(request, package), package=package, display_name=fields.pop("display_name"),
            stages=stages, questions=questions, **fields))
        obj.pk = created.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass  # the service wrote the stages and questions

    def service_delete(self, request, obj):
        services.policy_delete(actor=self.actor(request, obj), policy=obj)


@admin.register(AssignmentRequest)
class AssignmentRequestAdmin(_CatalogScoped, ReadOnlyAdmin):
    area = "entitlement"
    catalog_path = "package__catalog"
    list_display = ("package", "target_label", "request_type", "state", "status", "created_at", "completed_at",
                    "tenant")
    list_filter = ("state", "request_type")
    list_select_related = ("package", "target", "tenant")
    list_per_page = 100
    fields = ("package", "policy", "request_type", "state", "status", "target", "target_email",
              "connected_organization", "justification", "answers", "created_at", "completed_at", "current_stage",
              "deny_at", "escalate_at")
    readonly_fields = fields
    actions = ["cancel_selected", "reprocess_selected"]

    def _each(self, request, queryset, call, done):
        count = 0
        for row in queryset:
            try:
                call(row)
                count += 1
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, f"{row}: {exc}")
        if count:
            messages.success(request, done % {"count": count})

    @admin.action(description=_("Cancel the selected requests"))
    def cancel_selected(self, request, queryset):
        self._each(request, queryset, lambda r: services.request_cancel(actor=actor_in(self, request, r), request=r),
                   _("%(count)s requests cancelled."))

    @admin.action(description=_("Reprocess the selected requests"))
    def reprocess_selected(self, request, queryset):
        self._each(request, queryset, lambda r: services.request_reprocess(actor=actor_in(self, request, r),
                                                                           request=r),
                   _("%(count)s requests sent to delivery again."))


def actor_in(model_admin, request, obj):
    return model_admin.actor(request, obj)


class DirectAssignmentForm(TenantModelForm):
    class Meta:
        model = Assignment
        fields = ("package", "policy", "target")

    def clean(self):
        data = super().clean()
        if data.get("policy") and data.get("package") and data["policy"].package_id != data["package"].pk:
            raise ValidationError({"policy": _("Choose a policy of this access package.")})
        return data


@admin.register(Assignment)
class AssignmentAdmin(_EntitlementAdmin):
    catalog_path = "package__catalog"
    catalog_need = catalog_add_need = "assignments"
    """Assignments; "Add" assigns directly (Entra: "New assignment"), "Remove" ends them."""

    form = DirectAssignmentForm
    list_display = ("package", "target", "state", "status", "start_at", "expires_at", "tenant")
    list_filter = ("state",)
    list_select_related = ("package", "target", "tenant")
    search_fields = ("target__display_name", "target__user_principal_name")
    fields = ("package", "policy", "target")
    actions = ["remove_selected"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        made = self._run(request, lambda: services.request_admin_add(
            actor=self.actor(request, obj.package), package=obj.package, policy=obj.policy, target=obj.target))
        obj.pk = made.assignment_id or obj.pk
        obj._state.adding = False
        messages.info(request, _("The assignment is being delivered."))

    def response_add(self, request, obj, post_url_continue=None):
        from django.http import HttpResponseRedirect
        from django.urls import reverse

        return HttpResponseRedirect(reverse("admin:entitlements_assignment_changelist"))

    @admin.action(description=_("Remove the selected assignments"))
    def remove_selected(self, request, queryset):
        count = 0
        for assignment in queryset.filter(state__in=Assignment.ACTIVE_STATES):
            try:
                services.request_remove(actor=self.actor(request, assignment), assignment=assignment)
                count += 1
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, f"{assignment}: {exc}")
        if count:
            messages.success(request, _("%(count)s assignments removed.") % {"count": count})


@admin.register(ConnectedOrganization)
class ConnectedOrganizationAdmin(_EntitlementAdmin):
    catalog_path = None  # the tenant's, not a catalog's
    list_display = ("display_name", "state", "source_type", "domain_name", "created_at", "tenant")
    list_filter = ("state",)
    search_fields = ("display_name", "domain_name")
    list_select_related = ("tenant",)
    fields = ("tenant", "display_name", "description", "state", "source_type", "source_tenant", "domain_name",
              "issuer_uri", "internal_sponsors", "external_sponsors")
    filter_horizontal = ("internal_sponsors", "external_sponsors")
    SPONSORS = ("internal_sponsors", "external_sponsors")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "source_tenant":
            from directory.models import Tenant

            kwargs["queryset"] = Tenant.objects.all()  # a partner tenant on this platform (names only)
            return db_field.formfield(**kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _sponsors(self, request, org, form):
        for name in self.SPONSORS:
            if name not in form.changed_data:
                continue
            new = set(form.cleaned_data[name])
            old = set(getattr(org, name).all())
            for user in new ^ old:
                services.connected_organization_sponsor_set(actor=self.actor(request, org), organization=org, user=user,
                                                            external=name == "external_sponsors", add=user in new)

    def save_model(self, request, obj, form, change):
        fields = {n: form.cleaned_data[n] for n in ("display_name", "description", "state", "source_type",
                                                     "source_tenant", "domain_name", "issuer_uri")}
        if change:
            org = self._run(request, lambda: services.connected_organization_update(
                actor=self.actor(request, obj), organization=ConnectedOrganization.objects.get(pk=obj.pk),
                changes={k: v for k, v in fields.items() if k in form.changed_data}))
        else:
            org = self._run(request, lambda: services.connected_organization_create(
                actor=self.actor(request, obj.tenant), tenant=obj.tenant, display_name=fields.pop("display_name"),
                **fields))
            obj.pk = org.pk
            obj._state.adding = False
        self._sponsors(request, org, form)

    def save_related(self, request, form, formsets, change):
        pass  # sponsors were written by the service

    def service_delete(self, request, obj):
        services.connected_organization_delete(actor=self.actor(request, obj), organization=obj)


# --- the external-user lifecycle settings (Entra: Entitlement management › Settings) -----------------------


class EntitlementSettingsForm(TenantModelForm):
    days_before_removal = forms.IntegerField(
        label=_("Number of days before removing external user from this directory"), min_value=0, max_value=3660,
        initial=30, help_text=_("0 removes them at once. Counted from the block; removals already scheduled "
                                "keep their date."))

    class Meta:
        model = EntitlementSettings
        fields = ("tenant", "external_user_lifecycle_action")
        labels = {"external_user_lifecycle_action": _("When an external user's last assignment ends")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["days_before_removal"] = self.instance.duration_until_external_user_deleted_after_blocked.days

    def clean(self):
        data = super().clean()
        if data.get("days_before_removal") is not None:
            try:  # the service's rule, asked before anything is written
                services.validate_lifecycle_settings({
                    "external_user_lifecycle_action": data.get("external_user_lifecycle_action", "none"),
                    "duration_until_external_user_deleted_after_blocked": timedelta(days=data["days_before_removal"])})
            except ValidationError as exc:
                raise ValidationError(exc.messages) from None
        return data


@admin.register(EntitlementSettings)
class EntitlementSettingsAdmin(_EntitlementAdmin):
    """The tenant's external-user lifecycle (``entitlementManagementSettings``), applied by the lifecycle
    sweep to the guests entitlement management brought in (docs/guest-lifecycle.md)."""

    catalog_path = None  # the tenant's, not a catalog's: tenant-wide administrators only
    form = EntitlementSettingsForm
    list_display = ("tenant", "external_user_lifecycle_action", "removal_after")
    list_select_related = ("tenant",)
    fields = ("tenant", "external_user_lifecycle_action", "days_before_removal")

    @admin.display(description=_("removal after"))
    def removal_after(self, obj):
        return obj.duration_until_external_user_deleted_after_blocked

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changes = {}
        if not change or "external_user_lifecycle_action" in form.changed_data:
            changes["external_user_lifecycle_action"] = form.cleaned_data["external_user_lifecycle_action"]
        if not change or "days_before_removal" in form.changed_data:
            changes["duration_until_external_user_deleted_after_blocked"] = timedelta(
                days=form.cleaned_data["days_before_removal"])
        self._run(request, lambda: services.entitlement_settings_update(
            actor=self.actor(request, obj.tenant), tenant=obj.tenant, changes=changes))
        obj._state.adding = False


# --- a user's page: where the guest is in the external-user lifecycle -------------------------------------


def _lifecycle(request, user):
    return ExternalUserLifecycle.objects.filter(user=user).first()


register_user_section(UserSection("lifecycle", _("External user lifecycle"), "user",
                                  "admin/entitlements/user_lifecycle_section.html", _lifecycle, order=45))


from . import admin_reviews  # noqa: E402,F401  (access reviews' console, entitlements/admin_reviews.py)
