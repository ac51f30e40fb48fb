# Terraform 1.11 is the first with write-only arguments (value_wo), which keep the webhook URL
# and secret out of state and plan. The provider floor is the version this module is tested with.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }
}
