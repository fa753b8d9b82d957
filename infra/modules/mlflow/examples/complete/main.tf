# MLflow's database and wiring for a prod-like environment (Multi-AZ, deletion protection).
provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = local.tags
  }
}

provider "kubernetes" {
  config_path = "~/.kube/config"
}

locals {
  tags = {
    owner         = "platform-team"
    environment   = "prod"
    "cost-center" = "ml-platform"
  }
}

module "mlflow" {
  source = "../../"

  name                    = "aip-example"
  environment             = "prod"
  vpc_id                  = "vpc-0123456789abcdef0"
  subnet_ids              = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  allowed_security_groups = { cluster = "sg-0123456789abcdef0" }
  artifact_bucket_arn     = "arn:aws:s3:::aip-example-mlflow-artifacts"
  artifact_kms_key_arn    = "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000"
  artifact_root           = "s3://aip-example-mlflow-artifacts/mlflow"
  oidc_provider_arn       = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  oidc_issuer             = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
  tags                    = local.tags
}

output "db_endpoint" {
  description = "Endpoint of the example database."
  value       = module.mlflow.db_endpoint
}
