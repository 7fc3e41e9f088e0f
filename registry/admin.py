"""The registry in the admin, for the MRC team and auditors: browse, filter, search, history.

Nothing here writes: every change goes through the services (pages and API), so the admin's
add/change/delete are off and the change page is a read-only view with the object's history.
"""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from core.admin_history import HistoryAdmin
from core.errors import DomainError
from governance import promotion
from governance.dashboard import pending_reviews
from governance.forms import DecisionForm
from registry.models import Artifact, MlflowSyncRecord, ModelVersion, RegisteredModel


class ReadOnlyAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    pass


class ArtifactInline(admin.TabularInline):
    model = Artifact
    fields = ("name", "type", "held", "size", "sha256", "scan_status", "scan_source", "scanned_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyAdmin):
    list_display = ("name", "risk_tier", "owner", "created_at", "updated_at")
    list_filter = ("risk_tier", "created_at")
    search_fields = ("name", "description", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = (
        "name",
        "description",
        "owner",
        "risk_tier",
        "risk_tier_reason",
        "risk_assessment",
        "tags",
        "created_at",
        "updated_at",
    )


class AwaitingMyReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("mine", "Awaiting my review")]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return queryset.filter(pk__in=[v.pk for v in pending_reviews(request.user)])
        return queryset


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """Versions, read-only; reviewers approve or reject from the change page, through the
    same domain functions as the API and the pages."""

    class Media:
        # Long values (an artifact's SHA-256 in the inline) wrap instead of widening the page.
        css = {"all": ("css/admin.css",)}

    change_form_template = "admin/registry/modelversion/change_form.html"
    list_display = ("__str__", "state", "risk_tier", "created_by", "created_at")
    list_filter = (AwaitingMyReviewFilter, "state", "model__risk_tier", "created_at")
    search_fields = ("version", "model__name", "created_by__username")
    list_select_related = ("model", "created_by")
    readonly_fields = (
        "model",
        "version",
        "state",
        "description",
        "documentation",
        "tags",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = [ArtifactInline]

    @admin.display(description="risk tier", ordering="model__risk_tier")
    def risk_tier(self, obj):
        return obj.model.risk_tier

    def get_urls(self):
        decide = self.admin_site.admin_view(self.decide_view)
        return [
            path("<int:pk>/decide/<str:decision>/", decide, name="registry_modelversion_decide"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if version is not None:
            actions = promotion.available_actions(version, request.user)
            extra["review_actions"] = [a for a in actions if a in ("approve", "reject")]
            extra["review_form"] = DecisionForm(
                review_role=promotion.review_role(version, request.user)
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def decide_view(self, request, pk: int, decision: str):
        version = get_object_or_404(ModelVersion.objects.select_related("model"), pk=pk)
        back = reverse("admin:registry_modelversion_change", args=[pk])
        form = DecisionForm(request.POST or None, with_checklists=decision == "approve")
        if request.method != "POST" or decision not in ("approve", "reject") or not form.is_valid():
            messages.error(request, "Send the decision from the version's page.")
            return redirect(back)
        kwargs = {"comments": form.cleaned_data["comments"]}
        service = promotion.approve_version
        if decision == "approve":
            kwargs.update(form.approve_kwargs())
        else:
            service = promotion.reject_version
        try:
            result = service(version, actor=request.user, **kwargs)
        except DomainError as error:
            messages.error(request, f"Refused: {error.detail}")
        else:
            messages.success(
                request, f"{decision.title()}d: the version is {result.version.state}."
            )
        return redirect(back)


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "type",
        "version",
        "held",
        "scan_status",
        "scan_source",
        "scanned_at",
        "created_at",
    )
    list_filter = ("held", "scan_status", "scan_source", "type", "format")
    search_fields = ("name", "uri", "sha256", "version__model__name", "version__version")
    list_select_related = ("version__model",)
    readonly_fields = (
        "version",
        "name",
        "type",
        "held",
        "download",
        "uri",
        "sha256",
        "size",
        "filename",
        "format",
        "signature",
        "scan_status",
        "scan_source",
        "scanned_by",
        "scan_scanner",
        "scan_findings",
        "scan_rules_version",
        "scanned_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    @admin.display(description="bytes")
    def download(self, obj):
        if not obj.held:
            return "a reference: the registry does not hold these bytes"
        return format_html(
            '<a href="{}">Download</a> (audited)', reverse("artifact-download-page", args=[obj.pk])
        )


@admin.register(MlflowSyncRecord)
class MlflowSyncRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The MLflow sync's records, read-only (the sync alone writes them): each server's last
    sync (RUN: status, consecutive failures, when the next is due), each MLflow model (aliases
    written, moved aliases reported) and each MLflow version (imported or why not)."""

    list_display = (
        "kind",
        "mlflow_model",
        "mlflow_version",
        "status",
        "model",
        "version",
        "attempts",
        "last_synced_at",
        "next_attempt_at",
        "short_error",
    )
    list_filter = ("kind", "status", "tracking_uri")
    search_fields = ("mlflow_model", "mlflow_version", "tracking_uri", "last_error")
    list_select_related = ("model", "version__model")
    readonly_fields = (
        "kind",
        "tracking_uri",
        "mlflow_model",
        "mlflow_version",
        "status",
        "model",
        "version",
        "source",
        "files",
        "tags_written",
        "aliases_written",
        "alias_violations",
        "attempts",
        "last_error",
        "last_synced_at",
        "finished_at",
        "next_attempt_at",
        "imported_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:120]
