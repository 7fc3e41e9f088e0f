"""The policies app's page forms: policy documents and policy exceptions."""
