from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from audit import (  # noqa: F401
            checks,  # the signing key's system check
            jobs,  # the request id carried into worker jobs
            signals,  # login, logout and failed-login events
        )
