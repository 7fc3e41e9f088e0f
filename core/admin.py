"""The admin's read-only mode: records that change only through their domain functions (or
never, like audit events) are listed and shown, never added, edited or deleted here."""


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
