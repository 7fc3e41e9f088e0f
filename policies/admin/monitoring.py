"""Admin pages of issue 6: exceptions, violations, monitoring runs and compliance snapshots
(read-only: they change through their domain functions), and the outgoing webhooks, which
superusers and MRC members manage here through governance.webhooks.save_webhook.

Registered by `from policies.admin import monitoring` in policies/admin/__init__.py.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdminMixin
from core.admin_history import HistoryAdmin
from core.errors import Forbidden, Invalid
from governance import webhooks
from governance.choices import WebhookEvent
from governance.models import Webhook, WebhookDelivery
from policies.models import ComplianceSnapshot, MonitoringRun, PolicyException, Violation


@admin.register(PolicyException)
class PolicyExceptionAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ("id", "policy", "version", "status", "requested_by", "expires_at", "page")
    list_filter = ("status", "policy")
    search_fields = ("policy__policy_id", "version__model__name", "justification")
    list_select_related = ("policy", "version__model", "requested_by")

    @admin.display(description="decide")
    def page(self, obj):
        return format_html(
            '<a href="{}">exception page</a>', reverse("exception-detail", args=[obj.pk])
        )


@admin.register(Violation)
class ViolationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("first_seen", "policy", "version", "rule_index", "severity", "status")
    list_filter = ("status", "severity", "policy")
    search_fields = ("policy__policy_id", "version__model__name", "message")
    list_select_related = ("policy", "version__model")


@admin.register(MonitoringRun)
class MonitoringRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "started_at",
        "trigger",
        "policy",
        "versions",
        "pairs",
        "evaluations_stored",
        "violations_opened",
        "violations_resolved",
    )
    list_filter = ("trigger",)


@admin.register(ComplianceSnapshot)
class ComplianceSnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("date", "score", "pairs", "complying_pairs", "active_violations")


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "secret", "events", "active"]
        help_texts = {
            "secret": "Signs every payload: X-Registry-Signature: sha256=HMAC-SHA256(secret, "
            "'<X-Registry-Timestamp>.' + raw body).",
        }

    def clean(self):
        cleaned = super().clean()
        try:
            webhooks.check_fields(cleaned)
        except Invalid as error:
            self.add_error(error.field if error.field in self.fields else None, error.detail)
        return cleaned


class WebhookManagers:
    """MRC members manage webhooks; superusers see them (they read everything, and write only
    what their roles allow: core.access.superuser_reads); nobody deletes one (deactivate it)."""

    def has_module_permission(self, request):
        return webhooks.may_view(request.user)

    def has_view_permission(self, request, obj=None):
        return webhooks.may_view(request.user)

    def has_add_permission(self, request, obj=None):
        return webhooks.may_manage(request.user)

    def has_change_permission(self, request, obj=None):
        return webhooks.may_manage(request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(WebhookManagers, admin.ModelAdmin):
    form = WebhookForm
    list_display = ("name", "url", "active", "subscribed")

    @admin.display(description="events")
    def subscribed(self, obj):
        return ", ".join(obj.events or []) or "—"

    def get_exclude(self, request, obj=None):
        # Someone who only reads (a superuser without the role) does not see the signing secret.
        if webhooks.may_manage(request.user):
            return super().get_exclude(request, obj)
        return ("secret",)

    def save_model(self, request, obj, form, change):
        stored = Webhook.objects.get(pk=obj.pk) if change else Webhook()
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        saved = webhooks.save_webhook(stored, actor=request.user, fields=fields)
        obj.pk = saved.pk


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(WebhookManagers, admin.ModelAdmin):
    list_display = (
        "created_at",
        "webhook",
        "event",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event", "webhook")
    list_select_related = ("webhook",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry_now"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Retry now (failed or pending deliveries)")
    def retry_now(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        try:
            counts = webhooks.retry_now(ids, actor=request.user)
        except Forbidden as error:  # audited by the domain function
            messages.error(request, f"Not retried: {error.detail}")
            return
        messages.info(request, f"Retried: {counts}")
