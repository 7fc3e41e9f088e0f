"""Where the artifact bytes the registry holds live: the storage named "artifacts".

By default the file system under MEDIA_ROOT/artifacts (files written read-only); a deployment
names any Django storage class in ARTIFACT_STORAGE_BACKEND (an S3 one, say) and custody works
through Django's storage API unchanged.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property


class ArtifactFileStorage(FileSystemStorage):
    """MEDIA_ROOT/artifacts, read-only files. Following MEDIA_ROOT (rather than a location
    fixed at start-up) keeps the storage right when MEDIA_ROOT changes, as in the tests."""

    def __init__(self, **kwargs):
        kwargs.setdefault("file_permissions_mode", 0o440)
        kwargs.setdefault("directory_permissions_mode", 0o750)
        super().__init__(**kwargs)

    @cached_property
    def base_location(self):
        return self._value_or_setting(
            self._location, os.path.join(settings.MEDIA_ROOT, "artifacts")
        )
