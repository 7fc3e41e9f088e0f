from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The floor every app stands on: errors, the access table, roles, the domain-action
    wrapper, visibility, API plumbing, charts and text scrubbing. It imports no app above it."""

    name = "core"
    verbose_name = "Core"
