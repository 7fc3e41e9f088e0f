from django.core.management.base import BaseCommand, CommandError

from audit.services import verify_chain
from audit.signing import SigningKeyUnavailable


class Command(BaseCommand):
    help = (
        "Check that no audit event was altered, removed or reordered since it was written: "
        "recompute the hash chain up to its head and check it against every signed checkpoint "
        "(signature with the key of AUDIT_SIGNING_KEY_FILE, and the hash it signs)."
    )

    def handle(self, *args, **options):
        try:
            verdict = verify_chain()
        except SigningKeyUnavailable as exc:
            raise CommandError(f"cannot check the signed checkpoints: {exc.detail}") from exc
        if verdict.valid:
            self.stdout.write(
                self.style.SUCCESS(f"valid: {verdict.count} events, head {verdict.head_hash}")
            )
            latest = verdict.latest_checkpoint
            if latest is None:
                self.stdout.write("no signed checkpoint yet")
            else:
                self.stdout.write(
                    f"{verdict.checkpoints} signed checkpoint(s) checked; latest #{latest.number}"
                    f" signs event #{latest.seq} at {latest.signed_at:%Y-%m-%d %H:%M:%S} UTC "
                    f"(key {latest.key_id[:16]}…)"
                )
            return
        where = f" at event id {verdict.first_invalid}" if verdict.first_invalid else ""
        raise CommandError(f"INVALID{where}: {verdict.reason} ({verdict.count} events checked)")
