import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from governance.diagram import to_dot


class Command(BaseCommand):
    help = "Write the promotion state machine, generated from the code, as DOT (and SVG)."

    def handle(self, *args, **options):
        base = Path(settings.BASE_DIR)
        dot_path = base / "docs" / "state-machine.dot"
        svg_path = base / "static" / "docs" / "state-machine.svg"
        dot_path.parent.mkdir(parents=True, exist_ok=True)
        dot_path.write_text(to_dot())
        self.stdout.write(f"wrote {dot_path}")
        executable = shutil.which("dot")
        if executable is None:
            self.stdout.write(
                "graphviz 'dot' not found: SVG not rendered (apt-get install graphviz)"
            )
            return
        svg_path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([executable, "-Tsvg", str(dot_path), "-o", str(svg_path)], check=True)  # noqa: S603
        self.stdout.write(f"wrote {svg_path}")
