from django.core.management.base import BaseCommand, CommandError

from audit import signing
from audit.evidence_verify import verify_bundle


class Command(BaseCommand):
    help = (
        "Check an evidence bundle: every file against manifest.json (a changed byte, a missing "
        "or an extra file fails, naming the file), the audit excerpt's hashes, and, with the "
        "registry's database at hand, the excerpt and the chain head against the stored chain "
        "and that the export was recorded. The signed checkpoint is checked with --public-key "
        "(the registry's public key as you received it) or the registry's own key and records; "
        "a bundle nothing trusted vouches for is reported as not authenticated (exit status 2)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the bundle (.zip)")
        parser.add_argument(
            "--offline",
            action="store_true",
            help="do not use the database: check the files, the excerpt's own hashes and the "
            "signed checkpoint only",
        )
        parser.add_argument(
            "--public-key",
            metavar="FILE",
            help="the registry's Ed25519 public key (PEM), trusted: the checkpoint must be "
            "signed with it (`manage.py audit_signing_key` prints it)",
        )

    def handle(self, *args, **options):
        trusted = None
        if options["public_key"]:
            try:
                with open(options["public_key"], "rb") as handle:
                    trusted = signing.load_public_pem(handle.read(64 * 1024))
            except (OSError, ValueError, TypeError) as exc:
                raise CommandError(
                    f"--public-key {options['public_key']}: not an Ed25519 public key ({exc})"
                ) from exc
        verdict = verify_bundle(
            options["file"], use_database=not options["offline"], public_key=trusted
        )
        self.stdout.write(f"bundle SHA-256 {verdict.sha256}")
        for note in verdict.notes:
            self.stdout.write(f"note: {note}")
        for problem in verdict.problems:
            self.stderr.write(f"FAIL: {problem}")
        if not verdict.valid:
            raise CommandError(f"the bundle is NOT valid: {len(verdict.problems)} problem(s)")
        for vouch in verdict.authenticated_by:
            self.stdout.write(f"authenticated: {vouch}")
        where = "against the stored chain" if verdict.database_checked else "offline"
        checked = (
            f"{verdict.files_checked} files match the manifest; "
            f"{verdict.events_checked} audit events checked {where}"
        )
        if not verdict.authentic:
            # Intact by its own account is not the registry's: exit 2, so no script takes a
            # bundle re-signed by whoever handed it over for a verified one.
            raise CommandError(
                f"the bundle is intact but NOT AUTHENTICATED ({checked}): nothing you trust "
                "vouches for it; give --public-key with the registry's public key, or check it "
                "where the registry's database is at hand",
                returncode=2,
            )
        self.stdout.write(self.style.SUCCESS(f"OK: authentic; {checked}"))
