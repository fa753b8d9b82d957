# A bucket with its own KMS key and its own access-log bucket: what each environment root creates for
# MLflow artifacts.
provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = local.tags
  }
}

locals {
  tags = {
    owner         = "platform-team"
    environment   = "dev"
    "cost-center" = "ml-platform"
  }
}

module "bucket" {
  source = "../../"

  bucket = "aip-example-mlflow-artifacts"
  tags   = local.tags
}

output "bucket_uri" {
  description = "URI of the example bucket."
  value       = module.bucket.bucket_uri
}
