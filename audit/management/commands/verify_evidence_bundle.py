from django.core.management.base import BaseCommand, CommandError

from audit.evidence_verify import verify_bundle


class Command(BaseCommand):
    help = (
        "Check an evidence bundle: every file against manifest.json (a changed byte, a missing "
        "or an extra file fails, naming the file), the audit excerpt's hashes, and, with the "
        "registry's database at hand, the excerpt and the chain head against the stored chain "
        "and that the export was recorded."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the bundle (.zip)")
        parser.add_argument(
            "--offline",
            action="store_true",
            help="do not use the database: check the files and the excerpt's own hashes only",
        )

    def handle(self, *args, **options):
        verdict = verify_bundle(options["file"], use_database=not options["offline"])
        self.stdout.write(f"bundle SHA-256 {verdict.sha256}")
        for note in verdict.notes:
            self.stdout.write(f"note: {note}")
        for problem in verdict.problems:
            self.stderr.write(f"FAIL: {problem}")
        if not verdict.valid:
            raise CommandError(f"the bundle is NOT valid: {len(verdict.problems)} problem(s)")
        where = "against the stored chain" if verdict.database_checked else "offline"
        self.stdout.write(
            self.style.SUCCESS(
                f"OK: {verdict.files_checked} files match the manifest; "
                f"{verdict.events_checked} audit events checked {where}"
            )
        )
