"""Receiving artifact uploads: streamed to a temporary file and hashed as the bytes arrive.

Django's own TemporaryFileUploadHandler writes the file to disk in chunks; this one also feeds
each chunk to SHA-256 and counts the bytes, so the registry knows the digest when the request
body has been read (the file is read once, never held in memory) and refuses an upload over
ARTIFACT_MAX_BYTES as soon as it passes the limit (413, the partial file removed).

Upload handlers must be in place before anything reads the request body, and the CSRF check
reads it; so the views that take artifact files install the handler first (`install`), and the
page view checks CSRF itself afterwards (as Django's documentation on upload handlers shows).
"""

from __future__ import annotations

import hashlib

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers

from registry import custody


class HashedTemporaryUploadedFile(TemporaryUploadedFile):
    sha256: str = ""


class HashingUploadHandler(FileUploadHandler):
    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        # The declared length, when the client sends one, refuses an oversize file at once.
        if self.content_length and self.content_length > custody.max_bytes():
            raise custody.too_large(self.content_length)
        self.file = HashedTemporaryUploadedFile(
            self.file_name, self.content_type, 0, self.charset, self.content_type_extra
        )
        self.hasher = hashlib.sha256()
        self.received = 0
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > custody.max_bytes():
            self.file.close()  # a temporary file: closing removes it
            raise custody.too_large(self.received)
        self.hasher.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size):
        self.file.seek(0)
        self.file.size = file_size
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def upload_interrupted(self):
        if hasattr(self, "file"):
            self.file.close()


def install(request) -> None:
    """Receive this request's files through the hashing handler (call before the body is
    read). A request whose declared body is already over the limit is refused before any byte
    is read."""
    declared = request.META.get("CONTENT_LENGTH")
    if declared and declared.isdigit() and int(declared) > custody.max_bytes() + 1024 * 1024:
        raise custody.too_large(int(declared))
    request.upload_handlers = [HashingUploadHandler(request)]
