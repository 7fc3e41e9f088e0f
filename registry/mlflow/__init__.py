"""Governing an MLflow model registry a team already has (docs/mlflow.md).

`client` speaks MLflow's REST API, `sync` imports MLflow's models and versions into custody and
writes the registry's decisions back, `jobs` are the worker's entry points."""
