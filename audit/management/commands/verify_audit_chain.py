from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain


class Command(BaseCommand):
    help = "Check that no audit event was altered, removed or reordered since it was written."

    def handle(self, *args, **options):
        verdict = verify_chain()
        if verdict.valid:
            self.stdout.write(
                self.style.SUCCESS(f"valid: {verdict.count} events, head {verdict.head_hash}")
            )
            return
        where = f" at event id {verdict.first_invalid}" if verdict.first_invalid else ""
        raise CommandError(f"INVALID{where}: {verdict.reason} ({verdict.count} events checked)")
