"""Policies in the admin for Security Architects: the document is edited as JSON and goes
through the same validation and services as the API."""

import json

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect

from core.access import is_allowed
from core.admin import ReadOnlyAdminMixin
from core.admin_history import HistoryAdmin
from core.choices import Action
from policies import services
from policies.documents import to_document
from policies.forms.policies import PolicyDocumentForm
from policies.models import Policy, PolicyChange, PolicyEvaluation


class PolicyAdminForm(forms.ModelForm):
    document = PolicyDocumentForm.base_fields["document"]

    class Meta:
        model = Policy
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["document"] = json.dumps(to_document(self.instance), indent=2)

    def clean_document(self):
        return PolicyDocumentForm.clean_document(self)


@admin.register(Policy)
class PolicyAdmin(HistoryAdmin):
    form = PolicyAdminForm
    list_display = ("policy_id", "name", "type", "severity", "status", "enforcement")
    list_filter = ("severity", "type", "status", "enforcement")
    search_fields = ("policy_id", "name", "description")

    def has_add_permission(self, request):
        return is_allowed(request.user, Action.WRITE_POLICY)

    def has_change_permission(self, request, obj=None):
        return is_allowed(request.user, Action.WRITE_POLICY)

    def has_delete_permission(self, request, obj=None):
        return False  # retire a policy (status RETIRED) so its history keeps judging

    def get_fields(self, request, obj=None):
        if self.has_change_permission(request, obj):
            return ["document"]
        return ["policy_id", "name", "severity", "status", "enforcement", "rules"]

    def save_model(self, request, obj, form, change):
        document = form.cleaned_data["document"]
        if change:
            saved = services.replace_policy(obj, actor=request.user, document=document)
        else:
            saved = services.create_policy(actor=request.user, document=document)
        if isinstance(saved, PolicyChange):
            # Relaxing an ACTIVE ENFORCE policy: nothing changed yet (policies.changes).
            request.policy_change_proposed = saved
            return
        form.instance = saved
        obj.pk = saved.pk

    def response_change(self, request, obj):
        proposed = getattr(request, "policy_change_proposed", None)
        if proposed is None:
            return super().response_change(request, obj)
        messages.warning(
            request,
            f"Not applied yet: this relaxes an ACTIVE ENFORCE policy, proposed as policy change "
            f"#{proposed.pk}; it takes effect once another Security Architect or an MRC member "
            "approves it.",
        )
        return redirect("admin:policies_policychange_change", proposed.pk)

    def save_related(self, request, form, formsets, change):
        pass


@admin.register(PolicyEvaluation)
class PolicyEvaluationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("evaluated_at", "policy", "version", "environment", "passed", "excepted")
    list_filter = ("environment", "passed", "excepted", "enforcement", "trigger")
    search_fields = ("policy__policy_id", "version__model__name")
    list_select_related = ("policy", "version__model")


# Exceptions, violations and webhooks; policy changes and exception reviews.
from policies.admin import changes, monitoring  # noqa: E402, F401
