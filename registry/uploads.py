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

FORM_ALLOWANCE = 1024 * 1024  # the other fields of the form, beyond the file itself


class HashedTemporaryUploadedFile(TemporaryUploadedFile):
    sha256: str = ""


class HashingUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A body declared larger than the limit (and the form fields around the file) is
        # refused before a byte of it is read.
        if content_length and content_length > custody.max_bytes() + FORM_ALLOWANCE:
            raise custody.too_large(content_length)

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
    read). Nothing is refused here: the handler refuses an oversize body while the body is
    parsed, where the views' error handling answers 413."""
    request.upload_handlers = [HashingUploadHandler(request)]
