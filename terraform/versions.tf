# Terraform 1.11 is the first with write-only arguments (value_wo), which keep the webhook URL
# and secret out of state and plan. The provider: a minimum (5.100, the version every test runs
# with), not an exact pin, so that a root using this module with others can choose its version;
# a root pins its exact provider in its own .terraform.lock.hcl. 6.x changes resources this
# module uses, and is admitted once it is tested.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}
