"""The storage that holds artifact bytes, from the environment (see registry/storage.py)."""

from config.env import env


def artifact_storage_settings() -> dict:
    return {"BACKEND": env("ARTIFACT_STORAGE_BACKEND", "registry.storage.ArtifactFileStorage")}
