from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of one background worker process (host and pid), written by a
    thread inside it every HEARTBEAT_SECONDS; /readyz wants one younger than a minute."""

    name = models.CharField(max_length=200, unique=True)
    host = models.CharField(max_length=150)
    pid = models.PositiveIntegerField()
    cluster = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
