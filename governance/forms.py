from django import forms

from core.api.fields import MAX_TEXT
from core.choices import Role
from governance.choices import MRC_CHECKLIST, REVIEW_CHECKLISTS
from registry.choices import RiskTier


class DecisionForm(forms.Form):
    """A review decision from a page or the admin: comments, and for an approval the
    checklists' items as checkboxes (each item's name is its field's; the items of the MRC
    checklist and the security review areas never share a name)."""

    comments = forms.CharField(max_length=MAX_TEXT, required=False, widget=forms.Textarea)

    def __init__(
        self,
        *args,
        with_checklist: bool = False,
        with_checklists: bool = False,
        review_role: str | None = None,
        **kwargs,
    ):
        """`with_checklist`: the MRC checklist's items; `with_checklists`: every reviewing
        role's (to read a posted approval, whichever role it is made in); `review_role`: the
        items of that role's checklist (to show the form to a reviewer)."""
        super().__init__(*args, **kwargs)
        if with_checklists:
            shown = list(REVIEW_CHECKLISTS.values())
        elif review_role in REVIEW_CHECKLISTS:
            shown = [REVIEW_CHECKLISTS[review_role]]
        elif with_checklist:
            shown = [REVIEW_CHECKLISTS[Role.MRC]]
        else:
            shown = []
        for checklist in shown:
            for item, label in checklist.items.items():
                self.fields[item] = forms.BooleanField(label=label, required=False)

    def _items(self, items) -> dict | None:
        ticked = {item: self.cleaned_data[item] for item in items if item in self.fields}
        return ticked or None

    def checklist(self) -> dict | None:
        """The MRC checklist's items as posted."""
        return self._items(MRC_CHECKLIST)

    def approve_kwargs(self) -> dict:
        """The checklists as promotion.approve_version takes them (`checklist`,
        `security_checklist`); the domain reads the one of the role the approval is made in."""
        return {c.attribute: self._items(c.items) for c in REVIEW_CHECKLISTS.values()}


class TierChangeForm(forms.Form):
    requested_tier = forms.ChoiceField(label="Requested tier", choices=RiskTier.choices)
    justification = forms.CharField(max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 4}))
