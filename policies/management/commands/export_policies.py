import json

import yaml
from django.core.management.base import BaseCommand

from policies.documents import to_document
from policies.models import Policy


class Command(BaseCommand):
    help = "Print every policy as the guide's documents (YAML or JSON), for review in git."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["yaml", "json"], default="yaml")
        parser.add_argument("--output", help="write to this file instead of stdout")

    def handle(self, *args, format, output, **options):
        documents = [to_document(policy) for policy in Policy.objects.order_by("policy_id")]
        if format == "json":
            text = json.dumps(documents, indent=2) + "\n"
        else:
            text = yaml.safe_dump(documents, sort_keys=False, allow_unicode=True)
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            self.stdout.write(f"wrote {len(documents)} policies to {output}")
        else:
            self.stdout.write(text, ending="")
