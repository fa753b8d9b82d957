Feature: No bucket is public
  In order to keep models, datasets and state private, every bucket has a public access block with all
  four flags on, and no ACL grants access to everyone (the same rule as checkov CKV_ORG_3 / CKV2_ORG_5).

  Scenario: Every bucket has a public access block
    Given I have aws_s3_bucket defined
    Then it must contain aws_s3_bucket_public_access_block

  Scenario Outline: Public access blocks set <flag>
    Given I have aws_s3_bucket_public_access_block defined
    Then it must contain <flag>
    And its value must be true

    Examples:
      | flag                    |
      | block_public_acls       |
      | block_public_policy     |
      | ignore_public_acls      |
      | restrict_public_buckets |

  Scenario: No bucket ACL grants access to everyone
    Given I have aws_s3_bucket_acl defined
    When it has acl
    Then its acl must not be public-read
    And its acl must not be public-read-write
    And its acl must not be authenticated-read
