from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "Policies"

    def ready(self) -> None:
        # Monitoring re-checks a version whose artifact's scan changed; registry, below
        # policies, announces the change with a signal rather than importing monitoring.
        from policies.monitoring import on_artifact_changed
        from registry.signals import artifact_changed

        artifact_changed.connect(on_artifact_changed, dispatch_uid="policies.scan_result")
