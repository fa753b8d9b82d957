"""Organisation policies for checkov, loaded with `checkov --external-checks-dir infra/policies`."""
