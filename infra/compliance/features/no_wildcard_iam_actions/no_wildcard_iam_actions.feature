Feature: IAM policies name their actions
  In order to keep least privilege, no IAM policy allows the action "*" or a whole service ("s3:*")
  (the same rule as checkov CKV_ORG_4).

  Scenario Outline: A <type> allows no wildcard action
    Given I have <type> defined
    Then it must contain policy
    And it must contain Statement
    And it must contain Action
    And its value must not match the "^(\*|[A-Za-z0-9-]+:\*)$" regex

    Examples:
      | type                 |
      | aws_iam_policy       |
      | aws_iam_role_policy  |
      | aws_iam_user_policy  |
      | aws_iam_group_policy |
