# The same versions as the root module's (../../versions.tf): Terraform 1.11 or later, and the
# AWS provider from the version every test runs with, below 6.x; the roots pin exactly.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}
