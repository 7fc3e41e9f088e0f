from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the registry: liveness and readiness, the worker's heartbeat and Prometheus
    metrics. It reads the domain apps (for the gauges) and no domain app imports it."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from ops import heartbeat

        post_spawn.connect(heartbeat.on_worker_spawned, dispatch_uid="ops-heartbeat")
