"""The guide's exception request form, for the pages (the API takes the same fields)."""

from __future__ import annotations

from django import forms

from core.api.fields import MAX_TEXT
from governance.separation import exception_roles
from policies.choices import ExceptionReason, RemediationStatus
from policies.durations import MAX_DAYS
from policies.models import Policy
from policies.waivers import requestable_policies


def _text(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ExceptionRequestForm(forms.Form):
    policy = forms.ModelChoiceField(
        queryset=Policy.objects.none(),
        to_field_name="policy_id",
        help_text="Which policy requires the exception (those applying to this model's tier "
        "and allowing exceptions).",
    )
    justification = _text("Justification", "Business or technical justification.")
    risk_assessment = _text("Risk assessment", "Identified risks and impacts.")
    mitigation = _text("Mitigation", "Proposed risk mitigation measures.")
    duration_days = forms.IntegerField(
        label="Duration (days)",
        min_value=1,
        max_value=MAX_DAYS,
        help_text="At most the policy's maxDuration.",
    )
    monitoring_plan = _text("Monitoring plan", "Additional monitoring during the exception.")
    reason = forms.ChoiceField(
        label="Reason",
        choices=ExceptionReason.choices,
        help_text="Why an exception is needed (the guide's four cases).",
    )
    remediation_plan = _text(
        "Remediation plan", "How the failure will be fixed so the exception is no longer needed."
    )
    remediation_due_date = forms.DateField(
        label="Remediation due date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="When the remediation will be complete (today or later).",
    )

    def __init__(self, *args, version, **kwargs):
        super().__init__(*args, **kwargs)
        tier = version.model.risk_tier
        self.fields["policy"].queryset = requestable_policies(version)
        # What the page tells the requester about approvals, from the same rule the domain
        # applies (governance.separation.exception_roles): the roles by the model's tier, and
        # the offered policies whose document asks for none (ACTIVE as soon as requested).
        self.approval_roles = exception_roles(tier, require_approval=True)
        self.without_approval = [
            p.policy_id for p in self.fields["policy"].queryset if not p.require_approval
        ]
        self.fields["policy"].label_from_instance = lambda p: (
            f"{p.policy_id} — {p.name} (max {p.max_duration or 'no limit'})"
        )


class ExceptionDecisionForm(forms.Form):
    comments = forms.CharField(max_length=MAX_TEXT, required=False, widget=forms.Textarea)


class ExceptionReviewForm(forms.Form):
    """A periodic review of an ACTIVE exception (the API takes the same fields)."""

    notes = _text("Review notes", "What the review found: is the exception still needed?")
    remediation_status = forms.ChoiceField(
        label="Remediation status", choices=RemediationStatus.choices
    )
    remediation_progress = forms.IntegerField(
        label="Remediation progress (%)", min_value=0, max_value=100
    )
