"""The domain's own errors; one API handler and one page handler turn them into answers."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail
        self.action: str | None = None
        self.model_id: int | None = None
        self.version_id: int | None = None

    def about(
        self,
        *,
        action: str | None = None,
        model_id: int | None = None,
        version_id: int | None = None,
    ) -> DomainError:
        """Name what the refused attempt was aimed at, for its audit event."""
        self.action = action or self.action
        self.model_id = model_id or self.model_id
        self.version_id = version_id or self.version_id
        return self


class Forbidden(DomainError):
    """The caller is known but a rule refuses the action (403); `detail` names the rule."""

    status_code = 403


class InvalidState(DomainError):
    """The action is not allowed in the object's current state (409)."""

    status_code = 409

    def __init__(self, detail: str, *, state: str):
        super().__init__(detail)
        self.state = state


class Invalid(DomainError):
    """Input the domain refuses (400); `field` names the input when there is one."""

    status_code = 400

    def __init__(self, detail: str, *, field: str | None = None):
        super().__init__(detail)
        self.field = field


class NotFound(DomainError):
    status_code = 404


class TooLarge(Invalid):
    """More bytes than the registry accepts (413); nothing was stored."""

    status_code = 413
