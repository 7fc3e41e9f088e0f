"""Compliance reports: periods, the data of a period, PDF rendering and the services that
queue and generate them (the worker's entry points are in audit/tasks.py)."""

GENERATOR_NAME = "model-registry-reports"
GENERATOR_VERSION = "1.0"
