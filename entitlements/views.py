"""The access panel's My Access and Approvals sections, and a package's link for external requestors.

Views parse the form, call one service or selector, and render; the rules are in the services and
evaluators.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from directory.actors import Actor
from directory.models import Tenant
from directory.panel import PanelView, Section, register_section, sign_in_url, tenant_context
from directory.selectors import tenant_user_for_account

from . import evaluators, selectors, services
from .models import AccessPackage, Assignment, AssignmentRequest

PAGE = 100  # rows per list on a panel page
REVIEW_PAGE = 200  # people per page of an access review


def _data(post, policy) -> services.RequestData:
    answers = {}
    if policy is not None:
        for question in policy.questions.all():
            values = post.getlist(f"q_{question.pk}")
            answers[str(question.pk)] = ",".join(v for v in values if v)
    start, end = parse_date(post.get("start") or ""), parse_date(post.get("end") or "")
    from datetime import datetime, time

    from django.utils import timezone

    def aware(day, at):
        return timezone.make_aware(datetime.combine(day, at)) if day else None

    return services.RequestData(justification=post.get("justification", ""), answers=answers,
                                schedule_start=aware(start, time.min), schedule_end=aware(end, time.max))


class MyAccessView(PanelView):
    """My Access: what I can request, my requests, and what I hold."""

    section = "access"
    template_name = "entitlements/panel/my_access.html"

    def get(self, request):
        return self.render(
            packages=selectors.requestable_packages(self.actor, self.tenant, limit=PAGE),
            requests=list(selectors.my_requests(self.actor).order_by("-created_at")[:PAGE]),
            assignments=list(selectors.my_assignments(self.actor).filter(state__in=Assignment.ACTIVE_STATES)
                             .order_by("package__display_name")[:PAGE]),
            cancelable=AssignmentRequest.CANCELABLE_STATES)


class PackageView(PanelView):
    """A package's page (also reached by its link when hidden): the request form."""

    section = "access"
    template_name = "entitlements/panel/package.html"

    def _package(self, package_id):
        return get_object_or_404(AccessPackage.objects.select_related("catalog"), pk=package_id, tenant=self.tenant)

    def _form(self, package, **extra):
        who, _org = selectors.requestor_facts(tenant=self.tenant, user=self.tenant_user)
        policies = _labelled(evaluators.applicable_policies(package.policies.prefetch_related("questions"), who),
                             self.request.LANGUAGE_CODE[:2])
        return self.render(package=package, policies=policies, **extra)

    def get(self, request, package_id):
        return self._form(self._package(package_id))

    def post(self, request, package_id):
        package = self._package(package_id)
        policy = _chosen_policy(package, request.POST.get("policy"))
        try:
            services.request_access(actor=self.actor, package=package, policy=policy,
                                    data=_data(request.POST, policy))
        except services.RequestRefused as refused:
            return self._form(package, error=refused.message, status=400)
        messages.success(request, _("Your request was submitted."))
        return redirect("entitlements:my_access", slug=self.tenant.slug)


class _PostAction(PanelView):
    """A button on a panel page: GET (a stale link) goes back to the page."""

    back = "entitlements:my_access"

    def get(self, request, **kwargs):
        self.lookup(**kwargs)
        return redirect(self.back, slug=self.tenant.slug)

    def post(self, request, **kwargs):
        obj = self.lookup(**kwargs)
        try:
            self.act(obj)
        except (services.RequestRefused, PermissionDenied, ValidationError) as exc:
            messages.error(request, getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(self.back, slug=self.tenant.slug)


class RequestCancelView(_PostAction):
    section = "access"

    def lookup(self, request_id):
        return _get_or_404(selectors.my_requests(self.actor), request_id)

    def act(self, obj):
        services.request_cancel(actor=self.actor, request=obj)
        messages.success(self.request, _("Your request was cancelled."))


class AssignmentExtendView(_PostAction):
    section = "access"

    def lookup(self, assignment_id):
        return _get_or_404(selectors.my_assignments(self.actor), assignment_id)

    def act(self, obj):
        services.request_extend(actor=self.actor, assignment=obj, justification=self.request.POST.get("justification", ""))
        messages.success(self.request, _("You asked to extend your access."))


class AssignmentRemoveView(_PostAction):
    section = "access"

    def lookup(self, assignment_id):
        return _get_or_404(selectors.my_assignments(self.actor), assignment_id)

    def act(self, obj):
        services.request_remove(actor=self.actor, assignment=obj)
        messages.success(self.request, _("Your access was removed."))


class ApprovalsView(PanelView):
    """Approvals: requests waiting for my decision (answers, organization) and what I decided."""

    section = "approvals"
    template_name = "entitlements/panel/approvals.html"

    def get(self, request):
        pending = list(selectors.approvals_for(self.actor).order_by("created_at")[:PAGE])
        history = list(AssignmentRequest.objects.filter(stages__reviewed_by=self.tenant_user, tenant=self.tenant)
                       .select_related("package", "target").order_by("-created_at").distinct()[:PAGE])
        return self.render(pending=pending, history=history)


class ApprovalDecideView(_PostAction):
    section = "approvals"
    back = "entitlements:approvals"

    def lookup(self, request_id):
        return _get_or_404(selectors.approvals_for(self.actor), request_id)

    def act(self, obj):
        approve = self.request.POST.get("decision") == "approve"
        services.approval_decide(actor=self.actor, request=obj, approve=approve,
                                 justification=self.request.POST.get("justification", ""))
        messages.success(self.request, _("Approved.") if approve else _("Denied."))


def _chosen_policy(package, value):
    """The package's policy the form names (None: the evaluator picks the only one that applies)."""
    if not value:
        return None
    try:
        return package.policies.filter(pk=value).first()
    except ValidationError:  # not a UUID
        return None


def _labelled(policies, language: str):
    """The policies with their questions' text in the reader's language (``question.label``)."""
    for policy in policies:
        for question in policy.questions.all():
            question.label = question.text_in(language)
    return policies


def _get_or_404(queryset, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, ValidationError):
        raise Http404(_("No such object.")) from None


class ExternalPackageView(View):
    """A package's link for someone not (yet) in the directory: sign in (home account, or prove the
    address with an e-mailed code), then request. People who are in the directory use the panel page."""

    template_name = "entitlements/external_request.html"

    def dispatch(self, request, slug: str, package_id):
        self.tenant = get_object_or_404(Tenant, slug=slug)
        self.package = get_object_or_404(AccessPackage.objects.select_related("catalog"), pk=package_id,
                                         tenant=self.tenant)
        if not request.user.is_authenticated:
            return HttpResponseRedirect(sign_in_url(self.tenant, request.get_full_path()))
        if tenant_user_for_account(tenant=self.tenant, account=request.user) is not None:
            return redirect("entitlements:package", slug=slug, package_id=package_id)
        self.actor = Actor.for_account(request.user, self.tenant)
        return super().dispatch(request)

    def _render(self, status=200, **extra):
        who, _org = selectors.requestor_facts(tenant=self.tenant, user=None, account=self.request.user,
                                              email=self.request.user.email)
        policies = evaluators.applicable_policies(self.package.policies.prefetch_related("questions"), who) \
            if self.package.catalog.is_externally_visible else []
        context = tenant_context(self.request, self.tenant, package=self.package,
                                 policies=_labelled(policies, self.request.LANGUAGE_CODE[:2]), **extra)
        return render(self.request, self.template_name, context, status=status)

    def get(self, request):
        return self._render()

    def post(self, request):
        policy = _chosen_policy(self.package, request.POST.get("policy"))
        try:
            services.request_access(actor=self.actor, package=self.package, policy=policy,
                                    data=_data(request.POST, policy))
        except services.RequestRefused as refused:
            return self._render(status=400, error=refused.message)
        return self._render(submitted=True)


def external_package_hook(request, tenant):
    """Entry hook: a signed-in person with no user object here who opens a package's panel link is
    offered the external request page (when the package can be requested from outside at all)."""
    match = request.resolver_match
    if match is None or match.view_name != "entitlements:package":
        return None
    package = AccessPackage.objects.filter(pk=match.kwargs.get("package_id"), tenant=tenant,
                                           catalog__is_externally_visible=True).first()
    if package is None or not any(p.is_external for p in package.policies.all()):
        return None
    return redirect(reverse("entitlements:external", kwargs={"slug": tenant.slug, "package_id": package.pk}))


def _may_approve(panel) -> bool:
    return panel.actor.user is not None


register_section(Section(key="access", label=gettext_lazy("My Access"), url_name="entitlements:my_access", order=40))
register_section(Section(key="approvals", label=gettext_lazy("Approvals"), url_name="entitlements:approvals",
                         order=50, visible=_may_approve))


# --- access reviews -------------------------------------------------------------------------------------

class ReviewsView(PanelView):
    """Access reviews: the reviews waiting for me, with how many of my items are still undecided."""

    section = "reviews"
    template_name = "entitlements/panel/reviews.html"

    def get(self, request):
        from django.db.models import Count, Q

        mine = Q(decisions__reviewers__user=self.tenant_user)
        instances = list(selectors.my_review_instances(self.actor).annotate(
            total=Count("decisions", filter=mine, distinct=True),
            pending=Count("decisions", filter=mine & Q(decisions__decision="NotReviewed"), distinct=True),
        ).order_by("end_at", "id")[:PAGE])
        return self.render(instances=instances)


class ReviewView(PanelView):
    """One review: the people whose access I review (name, type, last sign-in, recommendation), my
    decision on each, and "Accept recommendations"."""

    section = "reviews"
    template_name = "entitlements/panel/review.html"

    def _instance(self, instance_id):
        return _get_or_404(selectors.my_review_instances(self.actor), instance_id)

    def get(self, request, instance_id):
        from django.core.paginator import Paginator
        from django.db.models import Count, Q

        instance = self._instance(instance_id)
        mine = selectors.my_review_decisions(self.actor).filter(instance=instance)
        counts = mine.aggregate(total=Count("pk"), pending=Count("pk", filter=Q(decision="NotReviewed")))
        pages = Paginator(mine.order_by("principal__display_name", "id"), REVIEW_PAGE)
        pages.count = counts["total"]  # known already: no second COUNT
        page = pages.get_page(request.GET.get("page"))
        return self.render(instance=instance, definition=instance.definition, items=list(page), page=page,
                           counts=counts,
                           decisions=[("Approve", _("Approve")), ("Deny", _("Deny")), ("DontKnow", _("Don't know"))])

    def post(self, request, instance_id):
        instance = self._instance(instance_id)
        try:
            if request.POST.get("action") == "accept":
                done = services.review_accept_recommendations(actor=self.actor, instance=instance)
                messages.success(request, _("Recommendations accepted for %(count)s people.") % {"count": done})
            else:
                item = _get_or_404(selectors.my_review_decisions(self.actor).filter(instance=instance),
                                   request.POST.get("item"))
                services.review_decisions_record(actor=self.actor, decisions=[item],
                                                 decision=request.POST.get("decision", ""),
                                                 justification=request.POST.get("justification", ""))
                messages.success(request, _("Your decision for %(name)s was saved.") % {
                    "name": item.principal.display_name})
        except (PermissionDenied, ValidationError) as exc:
            messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("entitlements:review", slug=self.tenant.slug, instance_id=instance.pk)


register_section(Section(key="reviews", label=gettext_lazy("Access reviews"), url_name="entitlements:reviews",
                         order=55, visible=_may_approve))
