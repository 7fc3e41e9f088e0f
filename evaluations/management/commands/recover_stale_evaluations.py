from django.core.management.base import BaseCommand

from evaluations import conf
from evaluations.services import recover_stale_runs


class Command(BaseCommand):
    help = (
        "Find RUNNING evaluation runs whose worker stopped sending heartbeats: re-queue each "
        'once, then mark it ERROR ("worker stopped responding"). A django-q2 schedule runs '
        "this every 5 minutes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout",
            type=float,
            default=None,
            help=f"seconds without a heartbeat (default {conf.heartbeat_timeout():g})",
        )
        parser.add_argument(
            "--no-requeue", action="store_true", help="mark stale runs ERROR without retrying"
        )

    def handle(self, *args, timeout, no_requeue, **options):
        outcome = recover_stale_runs(timeout=timeout, requeue=not no_requeue)
        self.stdout.write(
            f"re-queued {_ids(outcome['requeued'])}; marked ERROR {_ids(outcome['errored'])}"
        )


def _ids(ids: list[int]) -> str:
    listed = f": {', '.join(map(str, ids))}" if ids else ""
    return f"{len(ids)} run(s){listed}"
