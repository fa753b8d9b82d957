Feature: GPU node pools are tainted
  In order to keep CPU workloads off expensive GPU nodes, every EKS node group running a GPU AMI
  carries the taint nvidia.com/gpu with effect NO_SCHEDULE (the same rule as checkov CKV_ORG_2).

  Scenario Outline: A node group on the <ami_type> AMI carries the nvidia.com/gpu taint
    Given I have aws_eks_node_group defined
    When its ami_type is <ami_type>
    Then it must contain taint
    And it must contain key
    And its value must be nvidia.com/gpu

    Examples:
      | ami_type                    |
      | AL2_x86_64_GPU              |
      | AL2023_x86_64_NVIDIA        |
      | AL2023_ARM_64_NVIDIA        |
      | BOTTLEROCKET_x86_64_NVIDIA  |
      | BOTTLEROCKET_ARM_64_NVIDIA  |

  Scenario Outline: The GPU taint on the <ami_type> AMI forbids scheduling
    Given I have aws_eks_node_group defined
    When its ami_type is <ami_type>
    Then it must contain taint
    And it must contain effect
    And its value must be NO_SCHEDULE

    Examples:
      | ami_type                    |
      | AL2_x86_64_GPU              |
      | AL2023_x86_64_NVIDIA        |
      | AL2023_ARM_64_NVIDIA        |
      | BOTTLEROCKET_x86_64_NVIDIA  |
      | BOTTLEROCKET_ARM_64_NVIDIA  |
