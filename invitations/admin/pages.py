"""Admin console pages for invitations: the list with resend / revoke / reset redemption, the single
invite form, and bulk invitations with their progress and results. Every write is a service call."""


from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from directory.admin.base import TenantScopedAdmin, tenants_with
from directory.models import OutboxMessage, Tenant

from .. import bulk
from ..bulk.results import csv_lines
from ..forms_admin import BulkInviteForm, InviteForm, ResetRedemptionForm, add_service_errors
from ..link_audit import bulk_results_redeem_urls_read
from ..models import BulkInvitationJob, Invitation
from ..services import (
    InvitationDenied,
    default_redirect_url,
    invitation_create,
    invitation_redeem_url_read,
    invitation_resend,
    invitation_reset_redemption,
    invitation_revoke,
)

ROW_ERRORS_SHOWN = 200  # the job page lists the first rows that failed; the results CSV has them all

STATUS_COLOURS = {
    Invitation.Status.PENDING_ACCEPTANCE: "#8a6d00",
    Invitation.Status.COMPLETED: "#107c10",
    Invitation.Status.REVOKED: "#616161",
    Invitation.Status.ERROR: "#c50f1f",
    Invitation.Status.IN_PROGRESS: "#0f6cbd",
}


def _denial_message(exc: PermissionDenied) -> str:
    return getattr(exc, "message", "") or str(exc) or _("You may not do this.")


class InvitationPagesMixin:
    """Helpers shared by the two admins: the viewer's manageable tenants and plain admin pages."""

    def may_manage(self, request, obj=None) -> bool:
        return self._allowed(request, obj, manage=True)

    def _allowed_area(self, request, area: str, obj) -> bool:
        return request.user.is_superuser or obj.tenant_id in tenants_with(request, area, manage=False)

    def has_invite_permission(self, request) -> bool:  # for actions declared with permissions=["invite"]
        return self.may_manage(request)

    def manageable_tenants(self, request):
        return Tenant.objects.filter(pk__in=self.tenant_ids(request, manage=True)).order_by("name")

    def render_page(self, request, template: str, title: str, **context) -> TemplateResponse:
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context,
        })


@admin.register(Invitation)
class InvitationAdmin(InvitationPagesMixin, TenantScopedAdmin):
    area = "invitation"
    list_display = ("invited_email", "invited_display_name", "status_badge", "inviter", "last_sent_at",
                    "redeemed_at", "expires_at", "tenant")
    list_display_links = ("invited_email",)
    list_filter = ("status",)
    search_fields = ("invited_email", "invited_display_name")
    list_select_related = ("tenant", "invited_by", "invited_by_account")
    list_per_page = 100
    actions = ["resend_selected", "revoke_selected", "reset_redemption"]
    fields = ("tenant", "invited_email", "invited_display_name", "invited_user", "invited_user_type", "status",
              "status_reason", "redirect_url", "send_message", "message_body", "message_language", "cc_list",
              "invited_by", "groups", "applications", "created_at", "expires_at", "last_sent_at", "send_count",
              "redeemed_at", "revoked_at")
    readonly_fields = fields
    change_list_template = "admin/invitations/invitation/change_list.html"
    change_form_template = "admin/invitations/invitation/change_form.html"

    # -- view only: invitations change through their actions; revoke instead of delete
    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, obj):
        return format_html('<span style="color:{}">●</span> {}', STATUS_COLOURS.get(obj.status, "#616161"),
                           obj.get_status_display())

    @admin.display(description=gettext_lazy("Cc recipients"))
    def cc_list(self, obj):
        if not obj.cc_recipients:
            return "—"
        return format_html('<ul class="readable-list">{}</ul>', format_html_join(
            "", '<li class="wrap">{}</li>', ((address,) for address in obj.cc_recipients)))

    @admin.display(description=gettext_lazy("invited by"), ordering="invited_by__display_name")
    def inviter(self, obj):
        if obj.invited_by is not None:
            return obj.invited_by.display_name
        if obj.invited_by_account is not None:
            return obj.invited_by_account.email
        return _("system")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/reset-redemption/", wrap(self.reset_redemption_view),
                 name="invitations_invitation_reset_redemption"),
            *super().get_urls(),
        ]

    # -- actions
    def _each_manageable(self, request, queryset):
        for invitation in queryset.select_related("tenant", "invited_by"):
            if self.may_manage(request, invitation):
                yield invitation
            else:
                self.message_user(request, _("%(email)s: you may not manage invitations of %(tenant)s.")
                                  % {"email": invitation.invited_email, "tenant": invitation.tenant}, messages.ERROR)

    def _apply_each(self, request, queryset, service, done):
        """Run ``service`` on every manageable invitation; report each refusal, then the count; then back
        to where the admin was (the invitation's page, or the list with its filters)."""
        count = 0
        for invitation in self._each_manageable(request, queryset):
            try:
                service(actor=self.actor(request, invitation), invitation=invitation)
            except ValidationError as exc:
                self.message_user(request, f"{invitation.invited_email}: {' '.join(exc.messages)}", messages.ERROR)
            except PermissionDenied as exc:
                self.message_user(request, f"{invitation.invited_email}: {_denial_message(exc)}", messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, done(count) % count, messages.SUCCESS)
        return self._back(request)

    @staticmethod
    def _back(request):
        target = request.POST.get("next", "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                      require_https=request.is_secure()):
            return HttpResponseRedirect(target)
        return None  # the admin's default: the list, with its filters

    @admin.action(description=gettext_lazy("Resend selected invitations"), permissions=["invite"])
    def resend_selected(self, request, queryset):
        return self._apply_each(request, queryset, invitation_resend,
                                lambda n: ngettext("%d invitation sent again.", "%d invitations sent again.", n))

    @admin.action(description=gettext_lazy("Revoke selected invitations…"), permissions=["invite"])
    def revoke_selected(self, request, queryset):
        """Asks first (revoking cannot be undone: the guest's link stops working), then revokes."""
        if request.POST.get("confirm") != "yes":
            invitations = list(queryset.select_related("tenant")[:200])
            return self.render_page(
                request, "admin/invitations/invitation/revoke_confirmation.html", _("Revoke invitations?"),
                invitations=invitations, more=max(queryset.count() - len(invitations), 0),
                selected=[str(pk) for pk in queryset.values_list("pk", flat=True)],
                next=request.POST.get("next") or request.get_full_path(),
                changelist_url=reverse("admin:invitations_invitation_changelist"))
        return self._apply_each(request, queryset, invitation_revoke,
                                lambda n: ngettext("%d invitation revoked.", "%d invitations revoked.", n))

    @admin.action(description=gettext_lazy("Reset redemption of the selected invitation's guest…"),
                  permissions=["invite"])
    def reset_redemption(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, _("Select exactly one invitation to reset its guest's redemption."),
                              messages.WARNING)
            return None
        return HttpResponseRedirect(reverse("admin:invitations_invitation_reset_redemption", args=[ids[0]]))

    # -- pages
    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {})}
        invitation = self.get_object(request, unquote(object_id))
        extra_context["may_manage"] = self.may_manage(request, invitation)
        extra_context["may_act"] = invitation.status == Invitation.Status.PENDING_ACCEPTANCE
        # Its e-mails (one per send), for those who may read the outbox.
        if self._allowed_area(request, "outbox", invitation):
            extra_context["invitation_messages"] = list(OutboxMessage.objects.filter(
                dedupe_key__startswith=f"invitation:{invitation.pk}:").only("pk", "subject", "status", "created_at"))
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        """The "Invite external user" form: one invitation through invitation_create."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST if request.method == "POST" else None, tenants=self.manageable_tenants(request),
                          admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            tenant = data["tenant"]
            cc = data["cc_recipients"].strip()
            try:
                result = invitation_create(
                    actor=self.actor(request, tenant), tenant=tenant, email=data["email"],
                    redirect_url=data["redirect_url"].strip() or default_redirect_url(tenant),
                    display_name=data["display_name"].strip(), user_type=data["user_type"],
                    send_message=data["send_message"], message_body=data["message_body"],
                    message_language=data["message_language"], cc_recipients=[cc] if cc else [],
                    groups=data["groups"], applications=data["applications"],
                )
            except InvitationDenied as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                self._report_link(request, result.invitation, result.redeem_url, sent=data["send_message"])
                return HttpResponseRedirect(reverse("admin:invitations_invitation_change",
                                                    args=[result.invitation.pk]))
        return self.render_page(request, "admin/invitations/invitation/invite.html", _("Invite external user"),
                                form=form, media=self.media + form.media, add=True)

    def reset_redemption_view(self, request, object_id):
        """Ask for the address and redirect URL, then reset the guest's redemption (all or nothing)."""
        invitation = self.get_object(request, unquote(object_id))
        if not self.may_manage(request, invitation):
            raise PermissionDenied
        user = invitation.invited_user
        form = ResetRedemptionForm(
            request.POST if request.method == "POST" else None,
            initial={"email": user.mail, "redirect_url": invitation.redirect_url,
                     "message_language": invitation.message_language},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                result = invitation_reset_redemption(
                    actor=self.actor(request, user), user=user, email=data["email"], redirect_url=data["redirect_url"],
                    send_message=data["send_message"], message_language=data["message_language"],
                )
            except InvitationDenied as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                self._report_link(request, result.invitation, result.redeem_url, sent=data["send_message"],
                                  reset=True)
                return HttpResponseRedirect(reverse("admin:invitations_invitation_change",
                                                    args=[result.invitation.pk]))
        known = [address for address in [user.mail, *user.other_mails] if address]
        return self.render_page(
            request, "admin/invitations/invitation/reset_redemption.html",
            _("Reset redemption of %(name)s") % {"name": user.display_name},
            form=form, invitation=invitation, guest=user, known_addresses=known, original=invitation,
        )

    def _report_link(self, request, invitation, url: str, *, sent: bool, reset: bool = False) -> None:
        if reset:
            lead = _("The redemption of %(email)s was reset; the old sign-in and links no longer work.")
        else:
            lead = _("Invitation created for %(email)s.")
        mail = _("The invitation e-mail is on its way.") if sent else _("No e-mail was sent.")
        invitation_redeem_url_read(actor=self.actor(request, invitation), invitation=invitation,
                                   interface="Admin console")
        self.message_user(request, format_html(
            "{} {} {} <code>{}</code>", lead % {"email": invitation.invited_email}, mail,
            _("Redemption link (share it only with the guest):"), url), messages.SUCCESS)


@admin.register(BulkInvitationJob)
class BulkInvitationJobAdmin(InvitationPagesMixin, TenantScopedAdmin):
    area = "invitation"
    list_display = ("file_name", "state", "progress", "created_count", "existing_count", "error_count",
                    "uploaded_by", "created_at", "tenant")
    list_filter = ("state",)
    search_fields = ("file_name",)
    list_select_related = ("tenant", "created_by")
    actions = ["process_again"]
    change_list_template = "admin/invitations/bulkinvitationjob/change_list.html"

    def get_queryset(self, request):
        # The uploaded file and the results can be megabytes: pages load them only when they need them.
        return super().get_queryset(request).defer("source", "results")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("progress"))
    def progress(self, obj):
        return format_html('<progress max="{}" value="{}"></progress> {} / {}', obj.total_rows or 1,
                           obj.processed_rows, obj.processed_rows, obj.total_rows)

    @admin.display(description=gettext_lazy("uploaded by"), ordering="created_by__email")
    def uploaded_by(self, obj):
        return obj.created_by.email if obj.created_by else _("system")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("template.csv", wrap(self.template_view), name="invitations_bulkinvitationjob_template"),
            path("<path:object_id>/progress/", wrap(self.progress_view), name="invitations_bulkinvitationjob_progress"),
            path("<path:object_id>/results.csv", wrap(self.results_view), name="invitations_bulkinvitationjob_results"),
            *super().get_urls(),
        ]

    @admin.action(description=gettext_lazy("Start processing again (for jobs that are stuck)"),
                  permissions=["invite"])
    def process_again(self, request, queryset):
        started = 0
        for job in queryset.filter(state__in=[BulkInvitationJob.State.QUEUED, BulkInvitationJob.State.RUNNING]):
            if self.may_manage(request, job):
                bulk.publish_bulk_invitation_job(job.pk)  # resumes after the last committed chunk
                started += 1
        self.message_user(request, ngettext("%d job started.", "%d jobs started.", started) % started)

    # -- pages
    def add_view(self, request, form_url="", extra_context=None):
        """Upload a CSV: checked at once (nothing is stored when it cannot be used), processed by a worker."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        post = request.method == "POST"
        form = BulkInviteForm(request.POST if post else None, request.FILES if post else None,
                              tenants=self.manageable_tenants(request))
        if post and form.is_valid():
            upload = form.cleaned_data["csv_file"]
            try:
                job = bulk.bulk_invitation_job_create(actor=self.actor(request, form.cleaned_data["tenant"]),
                                                      tenant=form.cleaned_data["tenant"],
                                                      file_name=upload.name, source=form.cleaned_data["source"])
            except InvitationDenied as exc:
                form.add_error(None, exc.message)
            except ValidationError as exc:
                form.add_error("csv_file", exc.messages)
            else:
                # Said the same whether a worker or this request runs the job: the page shows its state.
                self.message_user(request, ngettext(
                    "%(name)s was accepted with %(count)d row; its progress is shown below.",
                    "%(name)s was accepted with %(count)d rows; their progress is shown below.", job.total_rows,
                ) % {"name": job.file_name, "count": job.total_rows}, messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:invitations_bulkinvitationjob_change", args=[job.pk]))
        return self.render_page(request, "admin/invitations/bulkinvitationjob/add.html", _("Bulk invite"),
                                form=form, max_mb=bulk.MAX_UPLOAD_BYTES // 1024 // 1024,
                                template_url=reverse("admin:invitations_bulkinvitationjob_template"))

    def template_view(self, request):
        """The header row every bulk upload is checked against, plus one example row to overwrite."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        body = csv_lines([bulk.TEMPLATE_HEADERS,
                                       ("ann@partner.example", "Ann Partner", "", "true", "", "en")])
        response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="bulk-invite-template.csv"'
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(object_id))
        may_manage = self.may_manage(request, job)
        row_errors = bulk.error_rows(job.pk, limit=ROW_ERRORS_SHOWN) if job.error_count else []
        return self.render_page(
            request, "admin/invitations/bulkinvitationjob/detail.html", str(job.file_name), job=job, original=job,
            row_errors=row_errors, row_errors_more=max(job.error_count - len(row_errors), 0),
            progress_url=reverse("admin:invitations_bulkinvitationjob_progress", args=[job.pk]),
            results_url=(reverse("admin:invitations_bulkinvitationjob_results", args=[job.pk])
                         if may_manage else ""),
            payload=progress_payload(job),
        )

    def progress_view(self, request, object_id):
        job = self.get_object(request, unquote(object_id))
        if (bulk.driven_by_page() and job.state not in (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED)
                and self.may_manage(request, job)):
            # No worker here (embedded defaults): the page that watches the job moves it on.
            job = bulk.bulk_invitation_job_step(job_id=job.pk) or job
        return JsonResponse(progress_payload(job))  # admin_view marks every admin response never-cache

    def results_view(self, request, object_id):
        job = self.get_object(request, unquote(object_id))
        if not self.may_manage(request, job):  # the results hold redemption links
            raise PermissionDenied
        results = bulk.results_csv(job.pk)  # so far, while the job still runs
        bulk_results_redeem_urls_read(actor=self.actor(request, job), job=job, results_csv=results,
                                      interface="Admin console")
        # A BOM, so that spreadsheet programs read the file as UTF-8.
        response = HttpResponse("\ufeff" + results, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="bulk-invitations-{job.created_at:%Y%m%d-%H%M%S}-results.csv"')
        return response


def progress_payload(job: BulkInvitationJob) -> dict:
    return {
        "id": str(job.pk),
        "state": job.state,
        "stateLabel": str(job.get_state_display()),
        "finished": job.state in (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED),
        "total": job.total_rows,
        "processed": job.processed_rows,
        "percent": job.percent,
        "created": job.created_count,
        "alreadyInvited": job.existing_count,
        "errors": job.error_count,
        "failure": job.failure,
    }
