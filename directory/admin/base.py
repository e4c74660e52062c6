"""The admin console's base classes: what every tenant-scoped admin (of any app) builds on.

Staff see only the tenants where they hold a directory role, and in each what the one authorization
table (:mod:`directory.authz`) lets those roles read and manage. Every write goes through a service,
with the :class:`~directory.actors.Actor` the viewer is in that tenant. Importing this module
registers nothing."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..actors import Actor
from ..authz import area_capability
from ..enforcement import console_refusals
from ..models import (
    Tenant,
    User,
)
from ..net import client_ip
from ..selectors import console_capabilities_for_account


def _roles(request) -> dict:
    """{tenant_id: capabilities} of the signed-in account, read once per request; a tenant whose
    conditional access refuses this session the console (directory.enforcement) is left out, and the
    console's home page says why, with a link to meet the requirement."""
    if not hasattr(request, "_console_capabilities"):
        capabilities = console_capabilities_for_account(account=request.user)
        refusals = console_refusals(request, capabilities.keys())
        request._console_capabilities = {k: v for k, v in capabilities.items() if k not in refusals}
        if refusals and request.method == "GET" and getattr(request.resolver_match, "url_name", "") == "index":
            names = dict(Tenant.objects.filter(pk__in=refusals).values_list("pk", "name"))
            for tenant_id, (reason, url) in refusals.items():
                text = format_html("{}: {}", names.get(tenant_id, ""), reason)
                if url:
                    text = format_html('{} <a href="{}">{}</a>', text, url, _("Verify now"))
                messages.warning(request, text)
    return request._console_capabilities


def tenants_with(request, area: str, *, manage: bool) -> set:
    """The ids of the tenants where the viewer may read (or manage) ``area`` of the console."""
    wanted = {area_capability(area, manage=True)}
    if not manage:  # who may manage an area may read it
        wanted.add(area_capability(area, manage=False))
    wanted.discard(None)
    return {tenant_id for tenant_id, caps in _roles(request).items() if caps & wanted}


def actor_for(request, where) -> Actor:
    """The viewer as an actor in the tenant of ``where`` (a tenant, an object of a tenant, or its id)."""
    if isinstance(where, Tenant):
        tenant = where
    elif hasattr(where, "tenant_id"):
        tenant = where.tenant
    else:
        tenant = Tenant.objects.get(pk=where)
    cache = request.__dict__.setdefault("_console_actors", {})
    if tenant.pk not in cache:
        cache[tenant.pk] = Actor.for_account(request.user, tenant, ip=client_ip(request))
    return cache[tenant.pk]


class LinesField(forms.CharField):
    """A list of strings as one value per line (a JSON list in the model), never shown as JSON."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return "\n".join(str(v) for v in value)
        return value

    def to_python(self, value):
        if isinstance(value, (list, tuple)):
            return [str(v).strip() for v in value if str(v).strip()]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def has_changed(self, initial, data):
        return self.to_python(initial or []) != self.to_python(data)


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
        return tenants_with(request, self.area, manage=manage)

    def actor(self, request, where) -> Actor:
        return actor_for(request, where)

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


class ReadOnlyAdmin(TenantScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class NamesFirstSearch:
    """Search results (and autocomplete pickers) that rank matches of the name above matches found only
    in other fields: typing "Pro" offers "Project Falcon" before "Expense Reports" (whose description
    mentions "procurement")."""

    name_field = "display_name"

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term:
            name = self.name_field
            queryset = queryset.annotate(_name_rank=Case(
                When(**{f"{name}__istartswith": term}, then=Value(0)),
                When(**{f"{name}__icontains": term}, then=Value(1)),
                default=Value(2), output_field=IntegerField(),
            )).order_by("_name_rank", name, "pk")
        return queryset, may_have_duplicates
