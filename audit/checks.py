"""`manage.py check`: the audit signing key (settings.AUDIT_SIGNING_KEY_FILE) is there and
usable, so that checkpoints, reports and evidence bundles do not fail at run time."""

from __future__ import annotations

import stat

from django.core.checks import Error, Tags, Warning, register

from audit import signing

HINT = "python manage.py audit_signing_key --create-if-missing"


@register(Tags.security)
def signing_key_check(app_configs, **kwargs):
    path = signing.key_path()
    if not path.exists():
        return [
            Warning(
                f"{signing.SETTING} {path} does not exist: signed audit checkpoints, reports "
                "and evidence bundles will fail until it does.",
                hint=f"create it with `{HINT}` (make run does), or point {signing.SETTING} "
                "at the key.",
                id="audit.W001",
            )
        ]
    try:
        signing.private_key()
    except signing.SigningKeyUnavailable as exc:
        return [Error(exc.detail, id="audit.E001")]
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        return [
            Warning(
                f"{signing.SETTING} {path} is readable by other users than its owner.",
                hint=f"chmod 600 {path}",
                id="audit.W002",
            )
        ]
    return []
