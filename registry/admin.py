"""The registry in the admin, for the MRC team and auditors: browse, filter, search, history.

Nothing here writes: every change goes through the services (pages and API), so the admin's
add/change/delete are off and the change page is a read-only view with the object's history.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from registry.models import Artifact, ModelVersion, RegisteredModel


class ReadOnlyAdmin(SimpleHistoryAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ArtifactInline(admin.TabularInline):
    model = Artifact
    fields = ("name", "type", "uri", "sha256", "scan_status", "scan_scanner", "scanned_at")
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


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "state", "risk_tier", "created_by", "created_at")
    list_filter = ("state", "model__risk_tier", "created_at")
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


@admin.register(Artifact)
class ArtifactAdmin(ReadOnlyAdmin):
    list_display = ("name", "type", "version", "scan_status", "scanned_at", "created_at")
    list_filter = ("scan_status", "type")
    search_fields = ("name", "uri", "sha256", "version__model__name", "version__version")
    list_select_related = ("version__model",)
    readonly_fields = (
        "version",
        "name",
        "type",
        "uri",
        "sha256",
        "scan_status",
        "scan_scanner",
        "scan_findings",
        "scanned_at",
        "created_at",
        "updated_at",
    )
