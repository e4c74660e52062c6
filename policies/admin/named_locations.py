"""Named locations in the admin console (Entra: Conditional Access › Named locations): IP ranges (trusted or
not) and countries (unknown countries/regions as their own choice)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from directory.admin.base import TenantModelForm, TenantScopedAdmin

from .. import services
from ..conditional_access import PolicyInvalid
from ..models import NamedLocation
from ..services.conditional_access import location_fields


class NamedLocationForm(TenantModelForm):
    ranges = forms.CharField(label=_("IP ranges"), required=False, widget=forms.Textarea(attrs={"rows": 6}),
                             help_text=_("One CIDR range per line, e.g. 203.0.113.0/24 or 2001:db8::/48."))
    countries = forms.CharField(label=_("Countries/regions"), required=False,
                                help_text=_("Two-letter codes separated by spaces or commas, e.g. KP IR."))

    class Meta:
        model = NamedLocation
        fields = ("tenant", "kind", "display_name", "is_trusted", "include_unknown_countries_and_regions")
        widgets = {"kind": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding and not self.is_bound:
            self.initial["ranges"] = "\n".join(self.instance.ip_ranges)
            self.initial["countries"] = " ".join(self.instance.countries_and_regions)
        if not self.instance._state.adding:
            self.fields.pop("kind", None)

    def graph_shape(self) -> dict:
        data = self.cleaned_data
        kind = data.get("kind") or self.instance.kind
        if kind == NamedLocation.Kind.IP:
            return {"displayName": data["display_name"], "isTrusted": data.get("is_trusted", False),
                    "ipRanges": (data.get("ranges") or "").split()}
        return {"displayName": data["display_name"],
                "countriesAndRegions": (data.get("countries") or "").replace(",", " ").split(),
                "includeUnknownCountriesAndRegions": data.get("include_unknown_countries_and_regions", False)}

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                location_fields(data.get("kind") or self.instance.kind, self.graph_shape())
            except PolicyInvalid as exc:
                raise ValidationError(exc.messages[0]) from None
        return data


@admin.register(NamedLocation)
class NamedLocationAdmin(TenantScopedAdmin):
    area = "conditional_access"
    form = NamedLocationForm
    list_display = ("display_name", "kind", "summary", "is_trusted", "modified_at", "tenant")
    list_filter = ("kind", "is_trusted")
    search_fields = ("display_name",)
    list_select_related = ("tenant",)

    def get_fields(self, request, obj=None):
        common = ["tenant", "display_name"]
        if obj is None:
            return [*common, "kind", "ranges", "is_trusted", "countries", "include_unknown_countries_and_regions"]
        if obj.kind == NamedLocation.Kind.IP:
            return [*common, "ranges", "is_trusted"]
        return [*common, "countries", "include_unknown_countries_and_regions"]

    @admin.display(description=_("ranges or countries"))
    def summary(self, obj):
        items = obj.ip_ranges if obj.kind == NamedLocation.Kind.IP else obj.countries_and_regions
        text = ", ".join(items[:5]) + (" …" if len(items) > 5 else "")
        if obj.kind == NamedLocation.Kind.COUNTRY and obj.include_unknown_countries_and_regions:
            text += " + " + str(_("unknown"))
        return text

    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.named_location_update(actor=self.actor(request, obj), location=obj,
                                               changes=form.graph_shape())
            else:
                tenant = form.cleaned_data["tenant"]
                created = services.named_location_create(actor=self.actor(request, tenant), tenant=tenant,
                                                         kind=form.cleaned_data["kind"], data=form.graph_shape())
                obj.pk = created.pk
                obj._state.adding = False
        except PolicyInvalid as exc:
            messages.error(request, exc.messages[0])
            raise

    def delete_model(self, request, obj):
        try:
            services.named_location_delete(actor=self.actor(request, obj), location=obj)
        except PolicyInvalid as exc:
            messages.error(request, exc.messages[0])
            raise
