from django.core.management.base import BaseCommand, CommandError

from audit import signing


class Command(BaseCommand):
    # The system checks would warn about the very key this command is about to create.
    requires_system_checks = []
    help = (
        "Show the audit signing key's id and public key (PEM), for auditors to check signed "
        "checkpoints with; --create-if-missing first writes a new Ed25519 key to "
        "AUDIT_SIGNING_KEY_FILE (mode 0600) when there is none. An existing key is never "
        "replaced: checkpoints signed with it would no longer verify."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--create-if-missing",
            action="store_true",
            help="create the key file when it does not exist",
        )
        parser.add_argument(
            "--quiet", action="store_true", help="print nothing but errors (for `make run`)"
        )

    def handle(self, *args, **options):
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
