from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from registry.mlflow import sync
from registry.mlflow.client import MlflowUnreachable, check_tracking_uri, display_uri


class Command(BaseCommand):
    help = (
        "Import an MLflow tracking server's registered models and versions (files into custody, "
        "risk tier HIGH until assessed), write the governance tags and pending aliases back, and "
        "report aliases moved behind the registry's back (docs/mlflow.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tracking-uri",
            default=getattr(settings, "MLFLOW_TRACKING_URI", ""),
            help="the MLflow tracking server, http(s)://host:port (default MLFLOW_TRACKING_URI)",
        )
        parser.add_argument(
            "--owner",
            default=None,
            help="the user who owns the imported models whose MLflow 'owner' tag names nobody",
        )

    def handle(self, *args, tracking_uri, owner, **options):
        if not tracking_uri:
            raise CommandError("give --tracking-uri (or set MLFLOW_TRACKING_URI)")
        try:
            address = check_tracking_uri(tracking_uri)
        except ValueError as error:
            raise CommandError(str(error)) from error
        default_owner = None
        if owner:
            default_owner = get_user_model().objects.filter(username=owner, is_active=True).first()
            if default_owner is None:
                raise CommandError(f"--owner {owner!r}: no active user of that name")
        shown = display_uri(address)
        try:
            report = sync.sync(address, owner=default_owner)
        except MlflowUnreachable as error:
            raise CommandError(
                f"MLflow at {shown} is unreachable: {error}. Nothing under way was recorded as "
                "imported; run the command again (the scheduled sync retries with back-off)"
            ) from error
        except sync.SyncBusy as busy:
            raise CommandError(f"{busy}; try again when it has finished") from busy
        out = self.stdout
        out.write(
            f"{shown}: {report.models} models, {report.versions} versions; "
            f"{len(report.imported)} imported, {len(report.pending)} pending in MLflow, "
            f"{report.written} written back, {len(report.moved)} moved aliases"
        )
        for key in report.imported:
            out.write(f"  imported {key}")
        for key, why in report.pending.items():
            out.write(f"  pending {key}: {why}")
        for moved in report.moved:
            out.write(
                f"  VIOLATION {moved['model']}: alias {moved['alias']} points to "
                f"{moved['found'] or 'nothing'}, deployments here say {moved['expected'] or 'none'}"
            )
        if report.failed:
            for key, why in report.failed.items():
                self.stderr.write(f"  failed {key}: {why}")
            raise CommandError(
                f"{len(report.failed)} could not be imported (kept FAILED; the next sync retries)"
            )
