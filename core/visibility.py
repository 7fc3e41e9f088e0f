"""Who may see what: one mechanism for every governed record.

Everything governed hangs under a registered model (a version, its artifacts, approvals,
transitions, policy results, exceptions, violations, evaluation runs; a tier change request).
So "which records may this user see" is derived from one question, "which registered models may
this user see", answered once here: every model for the roles that hold the role-wide view
permission (`core.choices.SEE_ALL_MODELS_ROLES`: MRC, Security Architect, SRE, Auditor,
Executive, Scanner; superusers too), else those the user owns (`RegisteredModel.owner`). Both
are answered from what the request has already loaded (the user's roles, one query per request)
and a plain column filter, so visibility adds no query of its own; a test holds the role set
equal to the groups' granted permission.

A queryset class names the path from its record to the registered model (`model_path`) and
inherits `visible_to(user)`; nothing filters by owner by hand. Like NetBox's
`RestrictedQuerySet.restrict(user, action)`, `visible_to` also takes an action of
`core.access.RULES`: then only the models on which that rule lets the user act are kept
(READ_EVALUATIONS: all visible models for the oversight roles, the owner's own for a Model
Owner, none for SRE). The filter is always a subquery, never a list of ids, so a list costs the
same number of queries whatever the number of permissions or rows.

This module imports nothing of policies, evaluations or audit: it is core, used by them.
"""

from __future__ import annotations

import enum

from django.apps import apps
from django.db import models

from core.access import RULES, superuser_reads
from core.choices import SEE_ALL_MODELS_ROLES, Role
from core.roles import roles_of

# The registered model is the root of visibility; it is looked up by name because
# registry.models itself builds on this module.
ROOT_MODEL = ("registry", "RegisteredModel")
VIEW_PERMISSION = "registry.view_registeredmodel"  # what SEE_ALL_MODELS_ROLES are granted


class Reach(enum.Enum):
    """On which models a rule lets a user act."""

    NONE = "none"
    OWN = "own"  # the models they own (the object permission)
    ANY = "any"  # every model they may see


def reach(user, action: str) -> Reach:
    """The set form of `core.access.refusal`: `refusal(user, action, model=m)` is None
    exactly for the models `m` this reach covers (tested against it for every rule)."""
    if user is None or not user.is_authenticated:
        return Reach.NONE
    rule = RULES[action]
    held = roles_of(user)
    if rule.writes and Role.AUDITOR in held:
        return Reach.NONE
    if superuser_reads(user, rule):
        return Reach.ANY
    if held & rule.any_model:
        return Reach.ANY
    if held & rule.own_model:
        return Reach.OWN
    return Reach.NONE


def _root_queryset() -> models.QuerySet:
    return apps.get_model(*ROOT_MODEL)._default_manager.all()


def restrict_models(queryset, user, action: str | None = None) -> models.QuerySet | None:
    """`queryset` (of registered models) narrowed to those `user` may see (and act on, for
    `action`); None when that is every model, so that callers add no filter at all."""
    if user is None or not user.is_authenticated:
        return queryset.none()
    scope = Reach.ANY if action is None else reach(user, action)
    if scope is Reach.NONE:
        return queryset.none()
    if scope is Reach.OWN:
        return queryset.filter(owner_id=user.pk)
    if user.is_superuser or roles_of(user) & SEE_ALL_MODELS_ROLES:
        return None
    return queryset.filter(owner_id=user.pk)


class VisibleQuerySet(models.QuerySet):
    """The base of every governed record's queryset.

    `model_path` is the lookup from the record to its registered model ("version__model"; ""
    for the registered model itself).
    """

    model_path: str | None = None

    def visible_to(self, user, action: str | None = None):
        """The records `user` may see; with `action`, only those under the models that rule lets
        them act on (reads such as READ_EVALUATIONS)."""
        if self.model_path is None:
            raise TypeError(f"{type(self).__name__} must name its model_path")
        if self.model_path == "":
            allowed = restrict_models(self, user, action)
            return self.all() if allowed is None else allowed
        allowed = restrict_models(_root_queryset(), user, action)
        if allowed is None:
            return self.all()
        return self.filter(**{f"{self.model_path}__in": allowed})
