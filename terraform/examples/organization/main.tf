# An example of organizations: one function in a central account follows instances in two other
# account and region pairs (the members), which name their records with a tag (ddns:name =
# "web.dyn.example.com", below a subdomain kept for them). The central stack (the module) makes
# the function and the bus the members forward their EC2 events to; each member
# (modules/member) makes the forwarding rules on its own default bus and, once per account, the
# reader role the function assumes to describe the instances there. The hosted zone is in the
# central account; with route53_role_arn it may be in a DNS account instead (terraform/README.md
# and the README, Organizations).
#
# Each member is reached through a provider that assumes a role in its account: by default
# OrganizationAccountAccessRole, the role AWS Organizations makes in the accounts it creates.
# The two members may be two regions of one account: the reader role is then made once.
#
# To use it, copy this folder anywhere and point both `source` lines below at the module: the
# path of this repository's terraform/ folder, relative or absolute (they say "../.." and
# "../../modules/member" because this folder lives inside it), or a git URL such as
# "git::https://example.com/you/dynamic-dns-updater.git//terraform?ref=v1.0.0" (and
# "//terraform/modules/member?ref=v1.0.0"). Then fill in terraform.tfvars (see
# terraform.tfvars.example) and run terraform init and terraform apply with the central
# account's credentials. build.sh, at the repository's top, makes the zip.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0"
    }
  }
}

# The central account: region and credentials come from the environment (AWS_REGION,
# AWS_PROFILE, ...), or set them here.
provider "aws" {
  default_tags {
    tags = { Project = "dynamic-dns-updater" }
  }
}

provider "aws" {
  alias  = "member_a"
  region = var.member_a.region
  assume_role {
    role_arn = "arn:aws:iam::${var.member_a.account_id}:role/${var.member_access_role}"
  }
  default_tags {
    tags = { Project = "dynamic-dns-updater" }
  }
}

provider "aws" {
  alias  = "member_b"
  region = var.member_b.region
  assume_role {
    role_arn = "arn:aws:iam::${var.member_b.account_id}:role/${var.member_access_role}"
  }
  default_tags {
    tags = { Project = "dynamic-dns-updater" }
  }
}

locals {
  tag_key     = "ddns:name"
  reader_role = "${var.function_name}-reader"
  # One target per account, with every region the members name in it. The reader role ARNs are
  # built from the name, not read from the members, which need the central role first.
  regions_by_account = { for m in [var.member_a, var.member_b] : m.account_id => m.region... }
}

module "ddns" {
  source = "../.." # where the module is: change this line when you copy the folder

  function_name = var.function_name
  zip_path      = var.zip_path

  tag_key            = local.tag_key
  discovery_zone_ids = [var.zone_id]
  tag_suffixes       = [var.subdomain]

  targets = [for account, regions in local.regions_by_account : {
    account_id  = account
    role_arn    = "arn:aws:iam::${account}:role/${local.reader_role}"
    regions     = distinct(regions)
    external_id = var.external_id
  }]
  organization_id  = var.organization_id
  route53_role_arn = var.route53_role_arn

  alarm_email = var.alarm_email
}

module "member_a" {
  source    = "../../modules/member" # change this line too when you copy the folder
  providers = { aws = aws.member_a }

  central_event_bus_arn = module.ddns.event_bus_arn
  central_role_arn      = module.ddns.role_arn
  name                  = var.function_name
  tag_keys              = [local.tag_key]
  reader_role_name      = local.reader_role
  external_id           = var.external_id
}

module "member_b" {
  source    = "../../modules/member" # and this one
  providers = { aws = aws.member_b }

  central_event_bus_arn = module.ddns.event_bus_arn
  central_role_arn      = module.ddns.role_arn
  name                  = var.function_name
  tag_keys              = [local.tag_key]
  reader_role_name      = local.reader_role
  external_id           = var.external_id
  # IAM roles belong to the account: a second region of member_a's account has its role already.
  create_reader_role = var.member_b.account_id != var.member_a.account_id
}

variable "function_name" {
  description = "Name of the function and prefix of its resources, in the central account and the members."
  type        = string
  default     = "ddns-org"
}

variable "zip_path" {
  description = "The zip that build.sh makes: <repository>/target/lambda/dynamic-dns-updater/bootstrap.zip."
  type        = string
}

variable "zone_id" {
  description = "The Route53 hosted zone id that holds var.subdomain, in the central account (or, with route53_role_arn, in the DNS account)."
  type        = string
}

variable "subdomain" {
  description = "The domain below which tags may name records, such as dyn.example.com."
  type        = string
}

variable "member_a" {
  description = "The first member: its account id and region, such as { account_id = \"111111111111\", region = \"us-east-1\" }."
  type        = object({ account_id = string, region = string })
}

variable "member_b" {
  description = "The second member: another account, or another region of member_a's account."
  type        = object({ account_id = string, region = string })
}

variable "member_access_role" {
  description = "The role Terraform assumes in each member account to make its resources."
  type        = string
  default     = "OrganizationAccountAccessRole"
}

variable "external_id" {
  description = "An external id the function must give to assume the reader roles (null for none)."
  type        = string
  default     = null
}

variable "organization_id" {
  description = "The AWS Organizations id (o-…): any account of it may forward to the central bus, instead of the members' accounts alone. null for the members' accounts."
  type        = string
  default     = null
}

variable "route53_role_arn" {
  description = "A role in a DNS account that holds the zone, which the function assumes for Route53 (give it the module's route53_policy output). null: the zone is in the central account."
  type        = string
  default     = null
}

variable "alarm_email" {
  description = "An e-mail address the alarms notify (AWS asks it to confirm first); null for none."
  type        = string
  default     = null
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.ddns.function_name
}

output "event_bus_arn" {
  description = "The central bus the members forward their events to."
  value       = module.ddns.event_bus_arn
}

output "reader_role_arns" {
  description = "The reader roles the function assumes, by member (null where the account's role is another member's)."
  value       = { member_a = module.member_a.reader_role_arn, member_b = module.member_b.reader_role_arn }
}

output "route53_policy" {
  description = "With route53_role_arn: the policy the DNS account's role needs."
  value       = module.ddns.route53_policy
}

output "logs_tail_command" {
  description = "Follow the function's logs."
  value       = module.ddns.logs_tail_command
}
