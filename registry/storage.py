"""Where the artifact bytes the registry holds live: the storage named "artifacts".

By default the file system under MEDIA_ROOT/artifacts (files written read-only). With
ARTIFACT_STORAGE=s3 (config/storage.py) an S3-compatible bucket through django-storages
(`ArtifactS3Storage` below); any other Django storage class can be named in
ARTIFACT_STORAGE_BACKEND. Custody (registry/custody.py) works through Django's storage API and
never holds a whole artifact in memory, except the model it is about to run.
"""

from __future__ import annotations

import os
from types import MappingProxyType

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property

# Parts of a multipart upload, and how many travel at once: at most PART_SIZE * PARTS_AT_ONCE
# of an upload is in flight, whatever the artifact's size (S3 allows 10,000 parts, so this
# part size carries artifacts up to 80 GB).
PART_SIZE = 8 * 1024 * 1024
PARTS_AT_ONCE = 4


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


class StreamedObject(File):
    """An S3 object opened for reading: its body as it comes off the connection, read forward
    only, so a download or a copy holds one chunk at a time however large the object is.
    (django-storages' own S3File first downloads the whole object into a SpooledTemporaryFile,
    which with its default max_memory_size of 0 never spills to disk: all of it in memory.)"""

    def __init__(self, body, name: str, size: int):
        super().__init__(body, name)
        self._size = size
        self.mode = "rb"

    @property
    def size(self) -> int:
        return self._size

    def read(self, size: int | None = -1) -> bytes:
        return self.file.read(None if size is None or size < 0 else size)

    def seekable(self) -> bool:
        return False

    def chunks(self, chunk_size=None):
        chunk_size = chunk_size or self.DEFAULT_CHUNK_SIZE
        while chunk := self.read(chunk_size):
            yield chunk

    def open(self, mode=None):
        raise ValueError("a streamed S3 object cannot be reopened: open it from the storage again")

    def close(self) -> None:
        self.file.close()


def _local_file(content) -> str | None:
    """The path of the file on local disk behind `content`, when it has one: the upload
    handler's temporary file, or a file custody opened itself."""
    if hasattr(content, "temporary_file_path"):
        return content.temporary_file_path()
    handle = getattr(content, "file", None)
    path = getattr(handle, "name", None)
    if isinstance(path, str) and os.path.isfile(path) and handle.tell() == 0:
        return path
    return None


def __getattr__(name: str):
    # boto3 and django-storages (about 0.4 s to import, and memory) are loaded only when the
    # S3 storage is asked for, so a deployment on the file system never pays for them.
    if name == "ArtifactS3Storage":
        cls = globals()[name] = _s3_storage_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _s3_storage_class():
    from botocore.exceptions import ClientError
    from storages.backends.s3 import S3Storage
    from storages.utils import clean_name

    class ArtifactS3Storage(S3Storage):
        """An S3-compatible bucket (AWS S3, MinIO, Ceph, ...), under a prefix (`location`).

        Never overwrites: the registry's names are digests, and a name already taken is left
        to custody to notice (file_overwrite=False makes `save` pick another name, which
        custody deletes). No ACL is set, so the bucket's own policy applies. Reads stream
        (`StreamedObject`); writes of a local file go through boto3's multipart `upload_file`,
        which reads each part from the file when it is sent."""

        file_overwrite = False
        default_acl = None
        # Whatever type the uploader's client claimed, the object is opaque bytes: nothing
        # that reads the bucket should render an artifact as a page or a script.
        object_parameters = MappingProxyType({"ContentType": "application/octet-stream"})

        def __init__(self, **options):
            options.setdefault("transfer_config", _transfer_config())
            super().__init__(**options)

        def _open(self, name, mode="rb"):
            if "w" in mode or "a" in mode or "+" in mode:
                return super()._open(name, mode)
            key = self._normalize_name(clean_name(name))
            try:
                answer = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                    raise FileNotFoundError(
                        f"no object {key} in bucket {self.bucket_name}"
                    ) from None
                raise
            return StreamedObject(answer["Body"], name, answer["ContentLength"])

        def _save(self, name, content):
            path = _local_file(content)
            if path is None:  # no file behind the bytes: boto3 copies each part into memory
                return super()._save(name, content)
            cleaned = clean_name(name)
            key = self._normalize_name(cleaned)
            self.bucket.Object(key).upload_file(
                path,
                ExtraArgs=self._get_write_parameters(key, content),
                Config=self.transfer_config,
            )
            return cleaned

    ArtifactS3Storage.__module__, ArtifactS3Storage.__qualname__ = __name__, "ArtifactS3Storage"
    return ArtifactS3Storage


def _transfer_config():
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=PART_SIZE,
        multipart_chunksize=PART_SIZE,
        max_concurrency=PARTS_AT_ONCE,
    )
    # Parts read into memory (bytes with no file behind them) wait for these to be sent
    # (s3transfer's setting, which boto3's constructor does not take).
    config.max_in_memory_upload_chunks = PARTS_AT_ONCE
    return config
