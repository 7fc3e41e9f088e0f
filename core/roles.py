"""Who holds which role. Roles are Django groups; the set is cached on the user object."""

from __future__ import annotations

from django.contrib.auth.models import Group

from core.choices import READ_ALL_ROLES, STAFF_ROLES, Role

_CACHE_ATTR = "_governance_roles"


def roles_of(user) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def reads_everything(user) -> bool:
    return bool(roles_of(user) & READ_ALL_ROLES)


def set_roles(user, roles: list[str]) -> None:
    """Give the user exactly these roles (and admin access when one of them is a staff role)."""
    unknown = sorted(set(roles) - set(Role.values))
    if unknown:
        raise ValueError(
            f"unknown role(s): {', '.join(unknown)}; roles are {', '.join(Role.values)}"
        )
    user.groups.set(Group.objects.filter(name__in=roles))
    user.is_staff = bool(set(roles) & STAFF_ROLES) or user.is_superuser
    user.save(update_fields=["is_staff"])
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
