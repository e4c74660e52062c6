"""The admin console. Staff see only the tenants where they hold a role; every write is a service."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import models as dj_models
from django.http import Http404
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import (
    Account,
    Application,
    AppRegistration,
    AppRoleAssignment,
    AuditEvent,
    Branding,
    Domain,
    Group,
    OutboxMessage,
    RoleAssignment,
    Tenant,
    User,
)
from .roles import tenants_with
from .selectors import tenant_roles_for_account

admin.site.site_header = _("B2B Portal administration")
admin.site.site_title = _("B2B Portal")
admin.site.index_title = _("Your tenants")


def _roles(request) -> dict:
    if not hasattr(request, "_tenant_roles"):
        request._tenant_roles = tenant_roles_for_account(account=request.user)
    return request._tenant_roles


class TenantModelForm(forms.ModelForm):
    """Validates unique constraints that involve ``tenant`` even when the tenant is read-only."""

    def _get_validation_exclusions(self):
        exclusions = super()._get_validation_exclusions()
        if "tenant" not in self._errors and getattr(self.instance, "tenant_id", None):
            exclusions.discard("tenant")
        return exclusions


class TenantFilter(admin.SimpleListFilter):
    """Lists only the tenants the viewer may see (the stock filter would list every tenant)."""

    title = _("tenant")
    parameter_name = "tenant"

    def lookups(self, request, model_admin):
        return [(str(t.pk), t.name) for t in Tenant.objects.filter(pk__in=model_admin.tenant_ids(request))]

    def queryset(self, request, queryset):
        if self.value():
            try:
                return queryset.filter(**{model_admin_tenant_path(queryset.model): self.value()})
            except ValidationError:
                return queryset.none()
        return queryset


def model_admin_tenant_path(model) -> str:
    return "pk" if model is Tenant else "tenant_id"


class TenantScopedAdmin(admin.ModelAdmin):
    """Scopes lists, objects, choices and permissions to the tenants where the viewer holds a role.

    Another tenant's object and a missing one both give 404.
    """

    area = ""
    tenant_path = "tenant"
    form = TenantModelForm

    # -- scoping
    def tenant_ids(self, request, *, manage: bool = False):
        if request.user.is_superuser:
            return Tenant.objects.values_list("pk", flat=True)
        return tenants_with(_roles(request), self.area, manage=manage)

    def _tenant_of(self, obj):
        return obj.pk if isinstance(obj, Tenant) else obj.tenant_id

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.tenant_path}__in": self.tenant_ids(request)})

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such object."))
        return obj

    # -- permissions (roles, not Django model permissions)
    def _allowed(self, request, obj, *, manage: bool) -> bool:
        if not (request.user.is_active and request.user.is_staff):
            return False
        if request.user.is_superuser:
            return True
        ids = self.tenant_ids(request, manage=manage)
        return bool(ids) if obj is None else self._tenant_of(obj) in ids

    def has_module_permission(self, request):
        return self._allowed(request, None, manage=False)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj, manage=False)

    def has_add_permission(self, request):
        return self._allowed(request, None, manage=True)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj, manage=True)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj, manage=True)

    # -- choices limited to manageable tenants
    def _scope_choices(self, db_field, request, kwargs):
        model = db_field.related_model
        ids = self.tenant_ids(request, manage=True)
        if model is Tenant:
            kwargs["queryset"] = Tenant.objects.filter(pk__in=ids)
        elif any(f.name == "tenant" for f in model._meta.fields):
            qs = model._default_manager.filter(tenant__in=ids)
            if model is User:
                qs = qs.active().select_related("tenant")
            kwargs["queryset"] = qs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and self.tenant_path == "tenant":
            fields.append("tenant")
        return fields

    def get_list_filter(self, request):
        return (*super().get_list_filter(request), TenantFilter)

    # -- writes go through services
    def _m2m_names(self, form) -> list[str]:
        return [f.name for f in self.model._meta.many_to_many if f.name in form.cleaned_data]

    def form_changes(self, obj, form) -> dict:
        m2m = self._m2m_names(form)
        changes = {name: getattr(obj, name) for name in form.changed_data if name not in m2m and name != "tenant"}
        for name in m2m:
            if name in form.changed_data:
                changes[name] = list(form.cleaned_data[name])
        return changes

    def form_fields(self, obj, form) -> dict:
        m2m = self._m2m_names(form)
        concrete = {f.name for f in self.model._meta.concrete_fields}
        fields = {name: getattr(obj, name) for name in form.cleaned_data if name in concrete and name != "tenant"}
        fields.update({name: list(form.cleaned_data[name]) for name in m2m})
        fields["id"] = obj.pk
        return fields

    def save_model(self, request, obj, form, change):
        try:
            if change:
                self.service_update(request, obj, self.form_changes(obj, form))
            else:
                created = self.service_create(request, obj, form)
                obj.pk = created.pk
                obj._state.adding = False
        except ValidationError as exc:  # a race the form could not see; nothing was written
            messages.error(request, "; ".join(exc.messages))
            raise

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields were written by the service; inline formsets save through save_formset.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        self.service_delete(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.service_delete(request, obj)

    def service_create(self, request, obj, form):
        raise NotImplementedError

    def service_update(self, request, obj, changes):
        raise NotImplementedError

    def service_delete(self, request, obj):
        raise NotImplementedError


# --- tenants ----------------------------------------------------------------------------------


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ("name", "is_verified")

    def has_add_permission(self, request, obj=None):
        return request.user.is_superuser or (obj is not None and obj.pk in tenants_with(_roles(request), "tenant",
                                                                                         manage=True))

    def has_change_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self.has_add_permission(request, obj)

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    area = "tenant"
    tenant_path = "pk"
    list_display = ("name", "initial_domain", "configuration", "slug", "created_at")
    search_fields = ("name", "initial_domain", "slug")
    list_filter = ("configuration",)
    inlines = [DomainInline]
    fields = ("name", "slug", "initial_domain", "configuration", "privacy_statement_url")

    def has_add_permission(self, request):
        return request.user.is_active and request.user.is_superuser  # creating tenants is the operator's

    def has_delete_permission(self, request, obj=None):
        return False  # deleting a whole tenant is not an admin-console action

    def get_readonly_fields(self, request, obj=None):
        return ("initial_domain", "slug") if obj is not None and not request.user.is_superuser else ()

    def get_list_filter(self, request):
        return self.list_filter

    def service_create(self, request, obj, form):
        fields = self.form_fields(obj, form)
        return services.tenant_create(actor=request.user, **fields)

    def service_update(self, request, obj, changes):
        services.tenant_update(actor=request.user, tenant=obj, changes=changes)

    def save_formset(self, request, form, formset, change):
        # The admin's change message reads these lists, which formset.save() would have filled.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed() and not inline_form.instance.pk:
                continue
            instance = inline_form.instance
            if formset.can_delete and formset._should_delete_form(inline_form):
                if instance.pk:
                    services.domain_remove(actor=request.user, domain=instance)
                    formset.deleted_objects.append(instance)
            elif instance.pk:
                if inline_form.changed_data:
                    services.domain_update(actor=request.user, domain=instance, changes={
                        n: inline_form.cleaned_data[n] for n in inline_form.changed_data})
                    formset.changed_objects.append((instance, inline_form.changed_data))
            else:
                formset.new_objects.append(services.domain_add(actor=request.user, tenant=form.instance, **{
                    n: inline_form.cleaned_data[n] for n in ("name", "is_verified")}))


@admin.register(Branding)
class BrandingAdmin(TenantScopedAdmin):
    area = "tenant"
    list_display = ("tenant", "locale_label", "background_color", "accent_color")
    fields = ("tenant", "locale", "banner_logo", "background_color", "accent_color", "sign_in_page_text",
              "username_hint_text")

    @admin.display(description=_("locale"))
    def locale_label(self, obj):
        return obj.locale or _("default")

    def service_create(self, request, obj, form):
        return services.branding_save(actor=request.user, branding=obj)

    def service_update(self, request, obj, changes):
        services.branding_save(actor=request.user, branding=obj, changes=changes)

    def service_delete(self, request, obj):
        services.branding_delete(actor=request.user, branding=obj)


# --- users ------------------------------------------------------------------------------------


class DeletedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("deleted", _("Deleted (restorable)"))]

    def choices(self, changelist):
        value = self.value() or "active"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        return queryset.deleted() if self.value() == "deleted" else queryset.active()


class UserForm(TenantModelForm):
    password = forms.CharField(
        label=_("Initial password"), required=False, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Members only: lets the member sign in with the user principal name. Leave empty to set later."),
    )

    class Meta:
        model = User
        fields = ("tenant", "user_type", "display_name", "user_principal_name", "given_name", "surname", "mail",
                  "other_mails", "job_title", "company_name", "account_enabled", "sponsors")

    def _post_clean(self):
        super()._post_clean()
        if not self.errors and self.instance.tenant_id:
            try:
                services.validate_user_principal_name(self.instance)
            except ValidationError as exc:
                self._update_errors(exc)
        password = self.cleaned_data.get("password")
        if password and self.instance.user_type == User.UserType.GUEST:
            self.add_error("password", _("Guests sign in with their own identity; they get no password."))
        elif password:
            from django.contrib.auth.password_validation import validate_password

            try:
                validate_password(password)
            except ValidationError as exc:
                self.add_error("password", exc)


class IdentityInline(admin.TabularInline):
    model = User.identities.rel.related_model
    extra = 0
    fields = ("sign_in_type", "issuer", "issuer_assigned_id")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True


@admin.register(User)
class UserAdmin(TenantScopedAdmin):
    area = "user"
    form = UserForm
    list_display = ("display_name", "user_principal_name", "user_type", "external_state", "account_enabled",
                    "company_name", "tenant", "created_at")
    list_filter = ("user_type", "external_user_state", "account_enabled", "creation_type", DeletedFilter)
    search_fields = ("display_name", "user_principal_name", "mail", "given_name", "surname", "company_name")
    list_select_related = ("tenant",)
    list_per_page = 100
    ordering = ("display_name", "id")
    autocomplete_fields = ("sponsors",)
    inlines = [IdentityInline]
    actions = ["restore_selected", "enable_selected", "disable_selected"]
    fieldsets = (
        (None, {"fields": ("tenant", "user_type", "display_name", "user_principal_name", "password")}),
        (_("Contact"), {"fields": ("given_name", "surname", "mail", "other_mails", "job_title", "company_name")}),
        (_("Access"), {"fields": ("account_enabled", "sponsors")}),
        (_("External collaboration"), {"fields": ("external_user_state", "external_user_state_changed_at",
                                                 "creation_type", "account")}),
    )
    readonly_fields = ("external_user_state", "external_user_state_changed_at", "creation_type", "account")

    @admin.display(description=_("invitation state"), ordering="external_user_state")
    def external_state(self, obj):
        if not obj.external_user_state:
            return "—"
        colour = "#107c10" if obj.external_user_state == User.ExternalUserState.ACCEPTED else "#8a6d00"
        return format_html('<span style="color:{}">●</span> {}', colour, obj.get_external_user_state_display())

    def get_fieldsets(self, request, obj=None):
        sets = super().get_fieldsets(request, obj)
        if obj is not None:  # the initial password is for new members only
            first = dict(sets[0][1])
            first["fields"] = tuple(f for f in first["fields"] if f != "password")
            sets = ((None, first), *sets[1:])
        return sets

    def get_deleted_objects(self, objs, request):
        # Deleting a user is a soft delete: nothing cascades, so only the users are listed.
        to_delete = [str(o) for o in objs]
        return to_delete, {User._meta.verbose_name_plural: len(to_delete)}, set(), []

    def service_create(self, request, obj, form):
        fields = self.form_fields(obj, form)
        fields["password"] = form.cleaned_data.get("password") or None
        for name in self.readonly_fields:
            fields.pop(name, None)
        return services.user_create(actor=request.user, tenant=form.cleaned_data["tenant"], **fields)

    def service_update(self, request, obj, changes):
        changes.pop("password", None)
        services.user_update(actor=request.user, user=obj, changes=changes)

    def service_delete(self, request, obj):
        services.user_delete(actor=request.user, user=obj)

    @admin.action(description=_("Restore selected deleted users"))
    def restore_selected(self, request, queryset):
        restored = 0
        for user in queryset.deleted():
            if self.has_change_permission(request, user):
                try:
                    services.user_restore(actor=request.user, user=user)
                    restored += 1
                except ValidationError as exc:
                    self.message_user(request, f"{user}: {' '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, ngettext("%d user restored.", "%d users restored.", restored) % restored)

    def _set_enabled(self, request, queryset, enabled: bool):
        count = 0
        for user in queryset:
            if self.has_change_permission(request, user):
                services.user_update(actor=request.user, user=user, changes={"account_enabled": enabled})
                count += 1
        self.message_user(request, ngettext("%d user updated.", "%d users updated.", count) % count)

    @admin.action(description=_("Enable sign-in for selected users"))
    def enable_selected(self, request, queryset):
        self._set_enabled(request, queryset, True)

    @admin.action(description=_("Block sign-in for selected users"))
    def disable_selected(self, request, queryset):
        self._set_enabled(request, queryset, False)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.path.endswith("/autocomplete/"):
            queryset = queryset.active()
        return queryset, may_have_duplicates


# --- groups and applications ------------------------------------------------------------------


class GroupForm(TenantModelForm):
    def clean(self):
        cleaned = super().clean()
        tenant = cleaned.get("tenant") or (self.instance.tenant if self.instance.tenant_id else None)
        if tenant:
            for name in ("owners", "members"):
                try:
                    services.ensure_same_tenant(tenant, cleaned.get(name) or [], field=name)
                except ValidationError as exc:
                    self._update_errors(exc)
        return cleaned


@admin.register(Group)
class GroupAdmin(TenantScopedAdmin):
    area = "group"
    form = GroupForm
    list_display = ("display_name", "description", "members_can_join", "member_count", "tenant")
    list_filter = ("members_can_join",)
    search_fields = ("display_name", "description")
    list_select_related = ("tenant",)
    autocomplete_fields = ("owners", "members")
    ordering = ("display_name", "id")  # the member-count annotation drops the model's ordering
    fields = ("tenant", "display_name", "description", "members_can_join", "owners", "members")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=dj_models.Count("members", distinct=True))

    @admin.display(description=_("members"), ordering="_members")
    def member_count(self, obj):
        return obj._members

    def service_create(self, request, obj, form):
        return services.group_create(actor=request.user, tenant=form.cleaned_data["tenant"],
                                     **self.form_fields(obj, form))

    def service_update(self, request, obj, changes):
        services.group_update(actor=request.user, group=obj, changes=changes)

    def service_delete(self, request, obj):
        services.group_delete(actor=request.user, group=obj)


class ApplicationForm(GroupForm):
    pass


class AssignmentInline(admin.TabularInline):
    model = AppRoleAssignment
    extra = 0
    fields = ("user", "group", "created_at")
    readonly_fields = ("user", "group", "created_at")
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "group")


@admin.register(Application)
class ApplicationAdmin(TenantScopedAdmin):
    area = "application"
    form = ApplicationForm
    list_display = ("logo_thumb", "display_name", "launch_url", "assignment_required", "visible_to_users", "tenant")
    list_display_links = ("logo_thumb", "display_name")
    list_filter = ("assignment_required", "visible_to_users")
    search_fields = ("display_name", "description")
    list_select_related = ("tenant",)
    autocomplete_fields = ("owners",)
    inlines = [AssignmentInline]
    fields = ("tenant", "display_name", "description", "launch_url", "logo", "assignment_required",
              "visible_to_users", "owners", "app_id")
    readonly_fields = ("app_id",)

    @admin.display(description="")
    def logo_thumb(self, obj):
        if obj.logo:
            return format_html('<img src="{}" alt="" width="24" height="24" style="border-radius:4px">', obj.logo.url)
        return ""

    def service_create(self, request, obj, form):
        fields = self.form_fields(obj, form)
        fields.pop("app_id", None)
        return services.application_create(actor=request.user, tenant=form.cleaned_data["tenant"], **fields)

    def service_update(self, request, obj, changes):
        services.application_update(actor=request.user, application=obj, changes=changes)

    def service_delete(self, request, obj):
        services.application_delete(actor=request.user, application=obj)


class AssignmentForm(TenantModelForm):
    def clean(self):
        cleaned = super().clean()
        app = cleaned.get("application")
        if app:
            for name in ("user", "group"):
                try:
                    services.ensure_same_tenant(app.tenant, [cleaned.get(name)], field=name)
                except ValidationError as exc:
                    self._update_errors(exc)
        return cleaned


@admin.register(AppRoleAssignment)
class AppRoleAssignmentAdmin(TenantScopedAdmin):
    area = "application"
    form = AssignmentForm
    list_display = ("application", "user", "group", "created_at", "tenant")
    list_select_related = ("tenant", "application", "user", "group")
    autocomplete_fields = ("application", "user", "group")
    fields = ("application", "user", "group")
    search_fields = ("application__display_name", "user__display_name", "group__display_name")

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = services.app_assignment_create(
            actor=request.user, application=form.cleaned_data["application"],
            user=form.cleaned_data.get("user"), group=form.cleaned_data.get("group"),
        )
        obj.pk, obj.tenant_id, obj._state.adding = created.pk, created.tenant_id, False

    def save_form(self, request, form, change):
        obj = form.save(commit=False)
        if obj.application_id:
            obj.tenant_id = obj.application.tenant_id
        return obj

    def service_delete(self, request, obj):
        services.app_assignment_delete(actor=request.user, assignment=obj)


# --- roles, audit, outbox ---------------------------------------------------------------------


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(TenantScopedAdmin):
    area = "role"
    list_display = ("user", "role", "tenant", "created_at")
    list_filter = ("role",)
    list_select_related = ("tenant", "user")
    search_fields = ("user__display_name", "user__user_principal_name")
    autocomplete_fields = ("user",)
    fields = ("user", "role")

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj is not None else ()

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = services.role_assign(actor=request.user, user=form.cleaned_data["user"],
                                       role=form.cleaned_data["role"])
        obj.pk, obj.tenant_id, obj._state.adding = created.pk, created.tenant_id, False

    def save_form(self, request, form, change):
        obj = form.save(commit=False)
        if obj.user_id:
            obj.tenant_id = obj.user.tenant_id
        return obj

    def service_delete(self, request, obj):
        services.role_unassign(actor=request.user, assignment=obj)


class ReadOnlyAdmin(TenantScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    area = "audit"
    list_display = ("activity_date_time", "activity_display_name", "category", "initiator", "targets", "result")
    list_filter = ("category", "result", "operation_type")
    search_fields = ("activity_display_name",)
    list_select_related = ("tenant",)
    date_hierarchy = "activity_date_time"
    list_per_page = 100

    @admin.display(description=_("initiated by"))
    def initiator(self, obj):
        who = obj.initiated_by.get("user") or obj.initiated_by.get("app") or {}
        return who.get("userPrincipalName") or who.get("displayName") or "—"

    @admin.display(description=_("targets"))
    def targets(self, obj):
        return ", ".join(t.get("displayName") or t.get("id", "") for t in obj.target_resources)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    area = "outbox"
    list_display = ("created_at", "recipients", "subject", "status", "attempts", "sent_at", "next_attempt_at")
    list_filter = ("status",)
    search_fields = ("subject", "to")
    readonly_fields = ("tenant", "from_email", "to", "cc", "subject", "status", "attempts", "created_at",
                       "last_attempt_at", "next_attempt_at", "sent_at", "last_error", "body_text", "html_preview")
    fields = readonly_fields
    actions = ["retry_now"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not request.user.is_superuser:  # platform mail (sign-in codes) has no tenant: operators only
            qs = qs.exclude(tenant__isnull=True)
        return qs

    @admin.display(description=_("to"))
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description=_("HTML"))
    def html_preview(self, obj):
        if not obj.body_html:
            return "—"
        # Shown in a sandboxed frame: the message's HTML never runs in the admin's origin.
        return format_html('<iframe sandbox srcdoc="{}" title="{}" style="width:100%;height:28rem;border:1px solid '
                           '#ccc;background:#fff"></iframe>', obj.body_html, _("Message preview"))

    @admin.action(description=_("Send selected messages again now"))
    def retry_now(self, request, queryset):
        count = services.outbox_retry_now(actor=request.user, messages=queryset)
        self.message_user(request, ngettext("%d message queued.", "%d messages queued.", count) % count)

    def has_change_permission(self, request, obj=None):
        return False


class AccountCreationForm(BaseUserCreationForm):
    class Meta:
        model = Account
        fields = ("email", "display_name")


class AccountChangeForm(UserChangeForm):
    class Meta:
        model = Account
        fields = "__all__"


@admin.register(Account)
class AccountAdmin(DjangoUserAdmin):
    """Platform-wide accounts: the operator's (superuser's) view only."""

    add_form = AccountCreationForm
    form = AccountChangeForm
    ordering = ("email",)
    list_display = ("email", "display_name", "is_staff", "is_active", "last_login", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "display_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("display_name",)}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "display_name", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")
    filter_horizontal = ()

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_active and request.user.is_superuser
    )


# --- API app registrations ----------------------------------------------------------------------


class AppRegistrationForm(TenantModelForm):
    """Name, granted Graph permissions and (for apps that sign users in) redirect URIs. The client
    secret is made by the service and shown once after saving."""

    LIFETIMES = [(90, _("90 days")), (180, _("180 days (recommended)")), (365, _("1 year")), (730, _("2 years"))]

    application_permissions = forms.MultipleChoiceField(
        label=_("Application permissions"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("What the app may do on its own (client credentials), in every part of this tenant."),
    )
    delegated_permissions = forms.MultipleChoiceField(
        label=_("Delegated permissions"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("What the app may do for a signed-in user; never more than that user may do."),
    )
    redirect_uris = forms.CharField(
        label=_("Redirect URIs"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line; only for apps that sign users in (authorization code with PKCE)."),
    )
    secret_lifetime_days = forms.TypedChoiceField(label=_("Client secret expires after"), coerce=int,
                                                  choices=LIFETIMES, initial=180)

    class Meta:
        model = AppRegistration
        fields = ("tenant", "display_name", "enabled", "application_permissions", "delegated_permissions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from .api.principal import APPLICATION_PERMISSIONS, DELEGATED_PERMISSIONS

        self.fields["application_permissions"].choices = [(p, p) for p in APPLICATION_PERMISSIONS]
        self.fields["delegated_permissions"].choices = [(p, p) for p in DELEGATED_PERMISSIONS]
        if not self.instance._state.adding:  # set when registering; a new secret comes from the list's action
            del self.fields["redirect_uris"], self.fields["secret_lifetime_days"]

    def clean_redirect_uris(self) -> list[str]:
        from django.core.validators import URLValidator

        uris = [line.strip() for line in self.cleaned_data.get("redirect_uris", "").splitlines() if line.strip()]
        validate = URLValidator(schemes=["https", "http"])
        for uri in uris:
            try:
                validate(uri)
            except ValidationError:
                raise ValidationError(_("“%(uri)s” is not a web address.") % {"uri": uri[:200]}) from None
            if uri.startswith("http://") and not uri.startswith(("http://localhost", "http://127.0.0.1")):
                raise ValidationError(_("Use https:// (http:// only for localhost)."))
        if len(uris) > 10:
            raise ValidationError(_("At most 10 redirect URIs."))
        return uris


@admin.register(AppRegistration)
class AppRegistrationAdmin(TenantScopedAdmin):
    """API clients of a tenant. The client secret is stored hashed: it is shown once, when the app is
    registered or a new secret is made, and never again."""

    area = "application"
    form = AppRegistrationForm
    list_display = ("display_name", "client_id", "enabled", "permission_summary", "secret_expiry", "tenant",
                    "created_at")
    list_filter = ("enabled",)
    search_fields = ("display_name", "client__id")
    list_select_related = ("tenant",)
    readonly_fields = ("client_id", "secret_expires_at", "created_at")
    actions = ["new_secret"]

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return ((None, {"fields": ("tenant", "display_name", "application_permissions", "delegated_permissions",
                                       "redirect_uris", "secret_lifetime_days")}),)
        return (
            (None, {"fields": ("tenant", "display_name", "enabled", "client_id")}),
            (_("Permissions"), {"fields": ("application_permissions", "delegated_permissions")}),
            (_("Credentials"), {"fields": ("secret_expires_at", "created_at"),
                                "description": _("Use the action “Create a new client secret” on the list to "
                                                 "replace the secret.")}),
        )

    @admin.display(description=_("client id"), ordering="client_id")
    def client_id(self, obj):
        return obj.client_id

    @admin.display(description=_("permissions"))
    def permission_summary(self, obj):
        return ", ".join(obj.application_permissions) or "—"

    @admin.display(description=_("secret expires"), ordering="secret_expires_at")
    def secret_expiry(self, obj):
        if obj.secret_expires_at is None:
            return _("never")
        label = date_format(obj.secret_expires_at, "SHORT_DATE_FORMAT")
        if obj.secret_expired:
            return format_html('<span style="color:#a4262c">{} ({})</span>', label, _("expired"))
        return label

    def has_delete_permission(self, request, obj=None):
        return False  # switch an app off with "enabled"; its audit trail stays

    def service_create(self, request, obj, form):
        data = form.cleaned_data
        registration, client_id, secret = services.app_registration_create(
            actor=request.user, tenant=data["tenant"], display_name=data["display_name"],
            application_permissions=data["application_permissions"],
            delegated_permissions=data["delegated_permissions"], redirect_uris=data["redirect_uris"],
            secret_lifetime_days=data["secret_lifetime_days"],
        )
        self._show_secret_once(request, registration, client_id, secret)
        return registration

    def service_update(self, request, obj, changes):
        services.app_registration_update(actor=request.user, registration=obj, changes=changes)

    def _show_secret_once(self, request, registration, client_id: str, secret: str) -> None:
        expires = (date_format(registration.secret_expires_at, "SHORT_DATE_FORMAT")
                   if registration.secret_expires_at else _("never"))
        self.message_user(request, format_html(
            "{} {} <code>{}</code> {} <code>{}</code> ({} {}). {}",
            _("“%(name)s”:") % {"name": registration.display_name}, _("client id"), client_id,
            _("client secret"), secret, _("expires"), expires,
            _("Copy the secret now: it is stored only hashed and will not be shown again."),
        ), messages.WARNING)

    @admin.action(description=_("Create a new client secret (the old one stops working)"))
    def new_secret(self, request, queryset):
        for registration in queryset.select_related("tenant", "client"):
            if not self.has_change_permission(request, registration):
                self.message_user(request, _("%(name)s: you may not manage this app.") % {
                    "name": registration.display_name}, messages.ERROR)
                continue
            secret = services.app_registration_new_secret(actor=request.user, registration=registration)
            registration.refresh_from_db(fields=["secret_expires_at"])
            self._show_secret_once(request, registration, registration.client_id, secret)
