Feature: Every taggable resource carries the required tags
  In order to know who owns a resource, which environment it belongs to and who pays for it,
  every resource that supports tags carries owner, environment and cost-center
  (the same rule as the checkov policy CKV_ORG_1).

  Scenario Outline: A taggable resource carries the tag <tag>
    Given I have resource that supports tags defined
    Then it must contain tags
    And it must contain <tag>
    And its value must match the "\S+" regex

    Examples:
      | tag         |
      | owner       |
      | environment |
      | cost-center |
