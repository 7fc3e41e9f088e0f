"""What monitoring announces to the layers above it (continuous compliance monitoring in
policies), which evaluations does not import.

`window_computed` is sent, after the window's transaction commits, with `version_id` and
`start` (the window's UTC day): policies.monitoring judges the version's policies again, so a
policy reading `monitoring` opens or resolves its violations within the batch's job.
"""

from django.dispatch import Signal

window_computed = Signal()
