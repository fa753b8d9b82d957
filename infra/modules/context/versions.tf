terraform {
  # No providers: this module is pure naming and tagging logic, so `terraform init -backend=false`,
  # `validate` and `plan` run here without any provider download (see infra/README.md, "The edge").
  required_version = ">= 1.11"
}
