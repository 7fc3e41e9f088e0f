"""The storage that holds artifact bytes, from the environment (see registry/storage.py and
docs/storage.md).

ARTIFACT_STORAGE=file (the default): the file system under MEDIA_ROOT/artifacts.
ARTIFACT_STORAGE=s3: an S3-compatible bucket through django-storages, named by
ARTIFACT_S3_BUCKET (required), under ARTIFACT_S3_PREFIX, at ARTIFACT_S3_ENDPOINT_URL (empty:
AWS itself) in ARTIFACT_S3_REGION. Credentials are ARTIFACT_S3_ACCESS_KEY_ID and
ARTIFACT_S3_SECRET_ACCESS_KEY when set, else boto3's own chain (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the instance or pod role).
ARTIFACT_STORAGE_BACKEND names another storage class (given the S3 options when s3 is chosen).
"""

from config.env import env

FILE_BACKEND = "registry.storage.ArtifactFileStorage"
S3_BACKEND = "registry.storage.ArtifactS3Storage"
KINDS = ("file", "s3")


def artifact_storage_settings() -> dict:
    kind = env("ARTIFACT_STORAGE", "file").strip().lower() or "file"
    if kind not in KINDS:
        raise RuntimeError(f"ARTIFACT_STORAGE is {kind!r}: it must be one of {', '.join(KINDS)}")
    if kind == "file":
        return {"BACKEND": env("ARTIFACT_STORAGE_BACKEND", FILE_BACKEND)}
    return {
        "BACKEND": env("ARTIFACT_STORAGE_BACKEND", S3_BACKEND),
        "OPTIONS": s3_options(),
    }


def s3_options() -> dict:
    bucket = env("ARTIFACT_S3_BUCKET").strip()
    if not bucket:
        raise RuntimeError(
            "ARTIFACT_STORAGE is s3 but ARTIFACT_S3_BUCKET is empty: name the bucket that "
            "holds the artifacts (it must exist; the registry does not create it)"
        )
    access_key = env("ARTIFACT_S3_ACCESS_KEY_ID").strip()
    secret_key = env("ARTIFACT_S3_SECRET_ACCESS_KEY").strip()
    if bool(access_key) != bool(secret_key):
        raise RuntimeError(
            "ARTIFACT_S3_ACCESS_KEY_ID and ARTIFACT_S3_SECRET_ACCESS_KEY go together: set both, "
            "or neither to use boto3's own credentials (AWS_ACCESS_KEY_ID, a profile, a role)"
        )
    options = {
        "bucket_name": bucket,
        # The prefix every key starts with ("" for the bucket's root); no leading or
        # trailing slash, which django-storages would refuse or double.
        "location": env("ARTIFACT_S3_PREFIX").strip().strip("/"),
        "endpoint_url": env("ARTIFACT_S3_ENDPOINT_URL").strip() or None,
        "region_name": env("ARTIFACT_S3_REGION").strip() or None,
        # Path-style for MinIO and most on-premises S3; virtual for AWS (empty: boto3 picks).
        "addressing_style": env("ARTIFACT_S3_ADDRESSING_STYLE").strip() or None,
        # Names are digests and held bytes never change: never overwrite, never set an ACL
        # (the bucket's policy applies), and no public URLs are handed out.
        "file_overwrite": False,
        "default_acl": None,
        "querystring_auth": True,
    }
    if access_key:
        options["access_key"] = access_key
        options["secret_key"] = secret_key
        token = env("ARTIFACT_S3_SESSION_TOKEN").strip()
        if token:
            options["security_token"] = token
    return options
