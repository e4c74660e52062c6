"""Users in the admin console."""

from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import Lower
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..models import (
    User,
)
from .base import LinesField, TenantModelForm, TenantScopedAdmin
from .user_page import user_pages, user_sections


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
    other_mails = LinesField(label=_("Other e-mail addresses"), required=False,
                             help_text=_("One address per line."))
    business_phones = LinesField(label=_("Business phones"), required=False, help_text=_("One number per line."))
    password = forms.CharField(
        label=_("Initial password"), required=False, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Members only: lets the member sign in with the user principal name. Leave empty to set later."),
    )
    force_password_change = forms.BooleanField(
        label=_("Require a new password at first sign-in"), required=False, initial=True,
        help_text=_("The member signs in with the initial password, then must choose their own before anything "
                    "else."),
    )

    class Meta:
        model = User
        fields = ("tenant", "user_type", "display_name", "user_principal_name", "given_name", "surname", "mail",
                  "other_mails", "job_title", "company_name", "account_enabled", "sponsors")

    def _post_clean(self):
        super()._post_clean()
        if not self.errors and self.instance.tenant_id:
            try:
                services.validate_user_principal_name(
                    self.instance, check_alias=self.instance._state.adding or "user_principal_name" in self.changed_data)
            except ValidationError as exc:
                self._update_errors(exc)
        if "sponsors" in self.cleaned_data:
            try:
                services.validate_sponsors(self.instance, self.cleaned_data["sponsors"])
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
    # What fits at 1366 px without an inner scroll; long #EXT# names wrap (admin_console.css).
    list_display = ("display_name", "user_principal_name", "user_type", "external_state", "enabled",
                    "company_name", "tenant")
    list_filter = ("user_type", "external_user_state", "account_enabled", "creation_type", DeletedFilter)
    search_fields = ("display_name", "user_principal_name", "mail", "given_name", "surname", "company_name")
    list_select_related = ("tenant",)
    list_per_page = 100
    ordering = ("display_name", "id")
    autocomplete_fields = ("sponsors",)
    inlines = [IdentityInline]
    actions = ["restore_selected", "enable_selected", "disable_selected"]
    fieldsets = (
        (None, {"fields": ("tenant", "user_type", "display_name", "user_principal_name", "password",
                           "force_password_change")}),
        (_("Contact"), {"fields": ("given_name", "surname", "mail", "other_mails", "job_title", "company_name")}),
        (_("Organization"), {"fields": ("department", "employee_id", "employee_type", "office_location", "city",
                                       "country", "usage_location", "preferred_language", "mobile_phone",
                                       "business_phones")}),
        (_("Access"), {"fields": ("account_enabled", "sponsors")}),
        (_("External collaboration"), {"fields": ("external_user_state", "external_user_state_changed_at",
                                                 "creation_type", "account")}),
    )
    readonly_fields = ("external_user_state", "external_user_state_changed_at", "creation_type", "account")
    change_form_template = "admin/directory/user/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, unquote(object_id))
        return super().change_view(request, object_id, form_url, {
            **(extra_context or {}), "user_sections": user_sections(request, user)})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/sponsors/add/", wrap(self.sponsor_add_view), name="directory_user_sponsor_add"),
            path("<path:object_id>/sponsors/remove/", wrap(self.sponsor_remove_view),
                 name="directory_user_sponsor_remove"),
            *[path(page.route, wrap(partial(page.view, self)), name=page.name) for page in user_pages()],
            *super().get_urls(),
        ]

    def _sponsor_change(self, request, object_id, find, service, done: str):
        """Add or remove one sponsor through the sponsors service (the one ``sponsors/$ref`` uses), then
        back to the user's page with what happened."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        user = self.get_object(request, unquote(object_id))
        if user is None:
            raise Http404
        back = HttpResponseRedirect(reverse("admin:directory_user_change", args=[user.pk]) + "#user-section-sponsors")
        sponsor = find(user)
        if sponsor is None:
            self.message_user(request, _("No user of this organization has that name or address."), messages.ERROR)
            return back
        try:
            changed = service(actor=self.actor(request, user), user=user, sponsor=sponsor)
        except (PermissionDenied, ValidationError, User.DoesNotExist) as exc:
            self.message_user(request, " ".join(getattr(exc, "messages", None) or [str(exc)]), messages.ERROR)
            return back
        if changed:
            self.message_user(request, done % {"sponsor": sponsor.display_name, "user": user.display_name},
                              messages.SUCCESS)
        return back

    def sponsor_add_view(self, request, object_id):
        def find(user):
            text = request.POST.get("new_sponsor", "").strip().lower().replace("\x00", "")[:254]
            if not text:
                return None
            return (User.objects.active().filter(tenant_id=user.tenant_id).alias(upn=Lower("user_principal_name"))
                    .filter(upn=text).first() or User.objects.active().filter(tenant_id=user.tenant_id)
                    .with_mail(text).first())

        return self._sponsor_change(request, object_id, find, services.user_sponsor_add,
                                    _("%(sponsor)s now sponsors %(user)s."))

    def sponsor_remove_view(self, request, object_id):
        def find(user):
            try:
                return user.sponsors.filter(pk=request.POST.get("sponsor", "")).first()
            except ValidationError:  # not a UUID
                return None

        return self._sponsor_change(request, object_id, find, services.user_sponsor_remove,
                                    _("%(sponsor)s no longer sponsors %(user)s."))

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "user_pages": user_pages()})

    def get_list_display(self, request):
        # The tenant column only for those who see more than one tenant: the width goes to names.
        if request.user.is_superuser or len(self.tenant_ids(request)) > 1:
            return self.list_display
        return tuple(name for name in self.list_display if name != "tenant")

    @admin.display(description=_("enabled"), boolean=True, ordering="account_enabled")
    def enabled(self, obj):
        return obj.account_enabled

    @admin.display(description=_("state"), ordering="external_user_state")
    def external_state(self, obj):
        if not obj.external_user_state:
            return "—"
        colour = "#107c10" if obj.external_user_state == User.ExternalUserState.ACCEPTED else "#8a6d00"
        return format_html('<span style="color:{}">●</span> {}', colour, obj.get_external_user_state_display())

    def get_fieldsets(self, request, obj=None):
        sets = super().get_fieldsets(request, obj)
        if obj is not None:  # the initial password is for new members only
            first = dict(sets[0][1])
            first["fields"] = tuple(f for f in first["fields"] if f not in ("password", "force_password_change"))
            sets = ((None, first), *sets[1:])
        return sets

    def may_manage(self, request, user) -> bool:
        """Privileged users are protected from less privileged ones (the rule is the service's:
        Actor.may_manage_user); the console shows their pages read-only."""
        return self.actor(request, user).may_manage_user(user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or self.may_manage(request, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or self.may_manage(request, obj))

    def get_deleted_objects(self, objs, request):
        # Deleting a user is a soft delete: nothing cascades, so only the users are listed.
        to_delete = [str(o) for o in objs]
        return to_delete, {User._meta.verbose_name_plural: len(to_delete)}, set(), []

    def service_create(self, request, obj, form):
        fields = self.form_fields(obj, form)
        fields["password"] = form.cleaned_data.get("password") or None
        fields["force_password_change"] = bool(fields["password"] and form.cleaned_data.get("force_password_change"))
        for name in self.readonly_fields:
            fields.pop(name, None)
        tenant = form.cleaned_data["tenant"]
        return services.user_create(actor=self.actor(request, tenant), tenant=tenant, **fields)

    def service_update(self, request, obj, changes):
        changes.pop("password", None)
        changes.pop("force_password_change", None)
        services.user_update(actor=self.actor(request, obj), user=obj, changes=changes)

    def service_delete(self, request, obj):
        services.user_delete(actor=self.actor(request, obj), user=obj)

    @admin.action(description=_("Restore selected deleted users"))
    def restore_selected(self, request, queryset):
        restored = 0
        for user in queryset.deleted():
            if self.has_change_permission(request, user):
                try:
                    services.user_restore(actor=self.actor(request, user), user=user)
                    restored += 1
                except ValidationError as exc:
                    self.message_user(request, f"{user}: {' '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, ngettext("%d user restored.", "%d users restored.", restored) % restored)

    def _set_enabled(self, request, queryset, enabled: bool):
        count = 0
        for user in queryset:
            try:
                services.user_update(actor=self.actor(request, user), user=user, changes={"account_enabled": enabled})
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{user.display_name}: {' '.join(getattr(exc, 'messages', [str(exc)]))}",
                                  messages.ERROR)
                continue
            count += 1
        self.message_user(request, ngettext("%d user updated.", "%d users updated.", count) % count)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            try:
                self.service_delete(request, user)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{user.display_name}: {' '.join(getattr(exc, 'messages', [str(exc)]))}",
                                  messages.ERROR)

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
