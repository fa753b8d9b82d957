Feature: The feature and study stores are encrypted and private
  In order to protect features and tuning results, every Redis replication group (the Feast online
  store) is encrypted at rest and in transit and needs an AUTH token, and every Postgres instance
  (MLflow's, Optuna's) is encrypted and never publicly accessible.

  Scenario: Redis replication groups are encrypted at rest
    Given I have aws_elasticache_replication_group defined
    Then it must contain at_rest_encryption_enabled
    And its value must be true

  Scenario: Redis replication groups speak TLS only
    Given I have aws_elasticache_replication_group defined
    Then it must contain transit_encryption_enabled
    And its value must be true

  Scenario: Databases are encrypted at rest
    Given I have aws_db_instance defined
    Then it must contain storage_encrypted
    And its value must be true

  Scenario: Databases are never publicly accessible
    Given I have aws_db_instance defined
    Then it must contain publicly_accessible
    And its value must be false
