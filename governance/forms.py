from django import forms

from core.api.fields import MAX_TEXT
from governance.choices import MRC_CHECKLIST
from registry.choices import RiskTier


class DecisionForm(forms.Form):
    comments = forms.CharField(max_length=MAX_TEXT, required=False, widget=forms.Textarea)

    def __init__(self, *args, with_checklist: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_checklist:
            for item, label in MRC_CHECKLIST.items():
                self.fields[item] = forms.BooleanField(label=label, required=False)

    def checklist(self) -> dict | None:
        items = {item: self.cleaned_data[item] for item in MRC_CHECKLIST if item in self.fields}
        return items or None


class TierChangeForm(forms.Form):
    requested_tier = forms.ChoiceField(label="Requested tier", choices=RiskTier.choices)
    justification = forms.CharField(max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4}))
