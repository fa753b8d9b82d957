# Applied once per AWS account, before any environment: the Terraform state bucket (KMS, versioning,
# access logs, public access blocked), the account-wide S3 public access block, and the GitHub Actions
# OIDC provider that every environment's deploy role trusts.
module "context" {
  source = "../../modules/context"

  # The shared account-level resources are booked to prod: they outlive every environment.
  environment = "prod"
  owner       = var.owner
  cost_center = var.cost_center
  repository  = var.repository
  tags        = { scope = "account" }
}

resource "aws_s3_account_public_access_block" "this" {
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

module "state" {
  source = "../../modules/object-storage"

  bucket = "${var.org}-aip-tfstate"
  # State history matters: keep non-current versions for a year.
  noncurrent_version_expiration_days = 365
  intelligent_tiering_after_days     = 0
  tags                               = module.context.tags
}

module "github_oidc" {
  source = "../../modules/github-oidc"

  repository   = var.repository
  environments = {}
  tags         = module.context.tags
}
