"""The admin's change list, refusing date-hierarchy values that are no date.

Django's ChangeList turns `?<field>__year=&__month=&__day=` into a range of dates and catches
only the ValueError of building the first date: a year no date can hold as a number
(-99999999999999999999: OverflowError), or the last year a date has (9999: the range ends in
year 10000, a ValueError outside that try), escape as a 500. An admin with a `date_hierarchy`
uses this change list (SafeDateHierarchyMixin), which answers them as Django answers any
other filter value it cannot use: the change list again with "?e=1".
"""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList


class DateHierarchyChangeList(ChangeList):
    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class SafeDateHierarchyMixin:
    def get_changelist(self, request, **kwargs):
        return DateHierarchyChangeList
