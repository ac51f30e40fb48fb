# Terraform 1.11 is the first with write-only arguments (value_wo), which keep the webhook URL
# and secret out of state and plan. The provider is pinned to the series every test runs with
# (5.100.x): 6.x changes resources this module uses, and is admitted once it is tested.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0"
    }
  }
}
