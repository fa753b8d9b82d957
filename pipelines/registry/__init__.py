"""The model registry on MLflow: the registry session, fingerprints, provenance, the one loader of
registered models and the pyfunc wrapper."""
