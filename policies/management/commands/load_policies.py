import json
from pathlib import Path

import yaml
from django.core.management.base import BaseCommand, CommandError
from rest_framework.exceptions import ValidationError

from policies.documents import validate_document
from policies.services import load_documents


def read_documents(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return data
    raise CommandError(f"{path}: expected a policy document or a list of them")


class Command(BaseCommand):
    help = "Create or update policies from JSON or YAML files (one document or a list each)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args, paths, **options):
        documents = []
        for path in paths:
            if not path.is_file():
                raise CommandError(f"{path}: no such file")
            try:
                raw = read_documents(path)
            except (ValueError, yaml.YAMLError) as exc:
                raise CommandError(f"{path}: cannot parse: {exc}") from exc
            for index, document in enumerate(raw):
                try:
                    documents.append(validate_document(document))
                except ValidationError as exc:
                    raise CommandError(f"{path} document {index}: {exc.detail}") from exc
        result = load_documents(documents)
        self.stdout.write(
            f"policies: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged"
        )
