Feature: Every bucket is encrypted at rest
  In order to protect data at rest, every bucket has a server-side encryption configuration with
  SSE-KMS (or SSE-S3 where AWS allows nothing else, e.g. access-log targets).

  Scenario: Every bucket has a server-side encryption configuration
    Given I have aws_s3_bucket defined
    Then it must contain aws_s3_bucket_server_side_encryption_configuration

  Scenario: Encryption configurations use KMS or S3-managed keys
    Given I have aws_s3_bucket_server_side_encryption_configuration defined
    Then it must contain rule
    And it must contain apply_server_side_encryption_by_default
    And it must contain sse_algorithm
    And its value must match the "^(aws:kms|aws:kms:dsse|AES256)$" regex
