"""What the registry announces to the layers above it, which it does not know.

Continuous monitoring (policies) re-checks a version when an artifact's scan result changes;
registry sends this signal inside the change's transaction instead of importing monitoring.
"""

from django.dispatch import Signal

# Sent by registry.services.update_artifact with `artifact` and `changes` ({field: {from, to}}).
artifact_changed = Signal()
