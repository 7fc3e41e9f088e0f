from django.core.management.base import BaseCommand, CommandError

from audit import signing
from audit.choices import AuditAction, EventType
from audit.models import CheckpointTrigger
from audit.services import ChainBroken, make_checkpoint, record_event


class Command(BaseCommand):
    # The system checks would warn about the very key this command is about to create.
    requires_system_checks = []
    help = (
        "Show the audit signing key's id and public key (PEM), for auditors to check signed "
        "checkpoints with; --create-if-missing first writes a new Ed25519 key to "
        "AUDIT_SIGNING_KEY_FILE (mode 0600) when there is none. An existing key is only "
        "replaced by --rotate, which seals the chain with a checkpoint under the old key, makes "
        "the new key endorse the old one (so the old checkpoints keep verifying), swaps the "
        "key file and signs a first checkpoint with the new key."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--create-if-missing",
            action="store_true",
            help="create the key file when it does not exist",
        )
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="replace the key with a new one that vouches for it (docs/deployment.md)",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="print nothing but errors (for `make run`)"
        )

    def handle(self, *args, **options):
        if options["rotate"]:
            return self.rotate()
        path = signing.key_path()
        created = options["create_if_missing"] and signing.create_key_file(path)
        try:
            key = signing.public_key()
        except signing.SigningKeyUnavailable as exc:
            raise CommandError(exc.detail) from exc
        if options["quiet"]:
            return
        if created:
            self.stdout.write(self.style.SUCCESS(f"created {path} (mode 0600)"))
        self.stdout.write(f"key file: {path}")
        self.stdout.write(f"algorithm: {signing.ALGORITHM}")
        self.stdout.write(f"key id: {signing.key_id(key)}")
        self.stdout.write(signing.public_pem(key).rstrip())

    def rotate(self):
        try:
            sealed = make_checkpoint(CheckpointTrigger.MANUAL)
            old, new = signing.rotate_key_file()
            first = make_checkpoint(CheckpointTrigger.MANUAL)
        except signing.SigningKeyUnavailable as exc:
            raise CommandError(exc.detail) from exc
        except ChainBroken as exc:
            raise CommandError(f"not rotated: {exc.detail}") from exc
        record_event(
            EventType.AUDIT_ACCESS,
            AuditAction.ROTATE_SIGNING_KEY,
            details={
                "retiredKeyId": signing.key_id(old),
                "keyId": signing.key_id(new),
                "sealedByCheckpoint": sealed.number,
                "firstCheckpoint": first.number,
                "endorsement": str(signing.endorsement_path(signing.key_id(new))),
            },
        )
        self.stdout.write(self.style.SUCCESS("rotated the audit signing key"))
        self.stdout.write(
            f"retired key id: {signing.key_id(old)} (last checkpoint #{sealed.number})"
        )
        self.stdout.write(f"new key id: {signing.key_id(new)} (first checkpoint #{first.number})")
        self.stdout.write(f"endorsement: {signing.endorsement_path(signing.key_id(new))}")
        self.stdout.write(signing.public_pem(new).rstrip())
