"""Benchmark of artifact custody: receiving a 1 GiB upload, hashing it and storing it.

    python bench/bench_upload.py [--mib N]

A multipart/form-data body holding an N MiB file (default 1024) is fed to Django's own
MultiPartParser in 64 KiB reads, as the WSGI server hands it over, with the registry's upload
handler (registry/uploads.py: SHA-256 and a size count on each chunk, written to a temporary
file); then custody.store puts the bytes in the artifact storage under their digest (on the
file system, a rename of the temporary file). Printed: seconds and MiB/s of the receive and of
the store, the digest checked against hashlib over the source file, and the peak RSS, which
must stay flat (the file is never held in memory). For comparison, the time `cat FILE >
/dev/null` and `sha256sum` take on the same file.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.http.multipartparser import MultiPartParser  # noqa: E402

from registry import custody, uploads  # noqa: E402

BOUNDARY = "bench-boundary-7d3f"
READ = 64 * 1024


class MultipartStream(io.RawIOBase):
    """A multipart body read lazily: header, the file's bytes from disk, trailer."""

    def __init__(self, path: Path):
        self.parts = [
            io.BytesIO(
                (
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
                    f"weights.bin\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; "
                    f'name="file"; filename="weights.bin"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n"
                ).encode()
            ),
            open(path, "rb"),  # noqa: SIM115 -- closed by close()
            io.BytesIO(f"\r\n--{BOUNDARY}--\r\n".encode()),
        ]
        self.length = sum(len(p.getvalue()) for p in self.parts[::2]) + path.stat().st_size

    def readable(self) -> bool:
        return True

    def read(self, size=-1) -> bytes:
        size = READ if size is None or size < 0 else size
        while self.parts:
            data = self.parts[0].read(size)
            if data:
                return data
            self.parts.pop(0).close()
        return b""

    def close(self) -> None:
        for part in self.parts:
            part.close()
        super().close()


class FakeRequest:
    def __init__(self):
        self.META = {}
        self.upload_handlers = []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=1024)
    args = parser.parse_args()
    settings.ARTIFACT_MAX_BYTES = (args.mib + 1) * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as workdir:
        settings.MEDIA_ROOT = workdir
        source = Path(workdir) / "source.bin"
        with open(source, "wb") as handle:
            block = os.urandom(1024 * 1024)
            for _ in range(args.mib):
                handle.write(block)
        started = time.perf_counter()
        expected = subprocess.run(
            ["sha256sum", str(source)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        sha256sum_seconds = time.perf_counter() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        stream = MultipartStream(source)
        meta = {
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
            "CONTENT_LENGTH": str(stream.length),
        }
        request = FakeRequest()
        request.META = meta
        started = time.perf_counter()
        uploads.install(request)
        _, files = MultiPartParser(meta, stream, request.upload_handlers).parse()
        received_seconds = time.perf_counter() - started
        upload = files["file"]
        started = time.perf_counter()
        with custody.received(upload) as received:
            name, _ = custody.store(received)
        store_seconds = time.perf_counter() - started
        upload.close()  # as Django does at the end of a request
        stored = Path(custody.artifact_storage().path(name))
        assert received.sha256 == expected, "the registry's digest differs from sha256sum"
        assert stored.stat().st_size == args.mib * 1024 * 1024
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        mib = args.mib
        print(f"file: {mib} MiB; sha256sum alone: {sha256sum_seconds:.2f} s")
        print(
            f"receive + hash (MultiPartParser, registry upload handler): "
            f"{received_seconds:.2f} s ({mib / received_seconds:.0f} MiB/s)"
        )
        print(f"store under the digest: {store_seconds:.3f} s")
        print(
            f"peak RSS: {peak:.0f} MiB (before the upload: {rss_before:.0f} MiB); "
            f"digest {received.sha256[:16]}… matches sha256sum"
        )


if __name__ == "__main__":
    main()
