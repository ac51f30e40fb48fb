# An example of split-horizon DNS: one domain with a public hosted zone and a private one
# associated with a VPC. Instances name their records with a tag (ddns:name =
# "web.dyn.example.com"), and each name goes into both zones: the public zone gets the instance's
# public IPv4, the private zone its private IPv4 (tag_address = "auto": each zone's type decides).
# Inside the VPC the name resolves to the private address, outside to the public one.
#
# Both zones must exist before the plan: the module reads their names and types by id. Create
# the private one for the public zone's domain, associated with your VPC, for example:
#   aws route53 create-hosted-zone --name example.com --caller-reference "$(date +%s)" \
#     --hosted-zone-config PrivateZone=true --vpc VPCRegion=eu-west-1,VPCId=vpc-0123456789abcdef0
# (or with an aws_route53_zone in a configuration applied before this one).
#
# To use it, copy this folder anywhere and point `source` below at the module: the path of this
# repository's terraform/ folder, relative or absolute (it says "../.." because it lives inside
# that folder), or a git URL such as
# "git::https://example.com/you/dynamic-dns-updater.git//terraform?ref=v1.0.0". Then fill in
# terraform.tfvars (see terraform.tfvars.example) and run terraform init and terraform apply.

terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0"
    }
  }
}

# Region and credentials come from the environment (AWS_REGION, AWS_PROFILE, ...), or set them here.
provider "aws" {
  default_tags {
    tags = { Project = "dynamic-dns-updater" }
  }
}

module "ddns" {
  source = "../.." # where the module is: change this line when you copy the folder

  function_name = var.function_name
  zip_path      = var.zip_path

  # A public and a private zone of one domain: a tagged name below var.subdomain goes into both.
  tag_key            = "ddns:name"
  discovery_zone_ids = [var.public_zone_id, var.private_zone_id]
  tag_suffixes       = [var.subdomain]
  tag_address        = "auto" # public address in the public zone, private address in the private one

  alarm_email = var.alarm_email
}

variable "function_name" {
  description = "Name of the function and prefix of its resources."
  type        = string
  default     = "ddns-split"
}

variable "zip_path" {
  description = "The zip that build.sh makes: <repository>/target/lambda/dynamic-dns-updater/bootstrap.zip."
  type        = string
}

variable "public_zone_id" {
  description = "The public Route53 hosted zone of the domain."
  type        = string
}

variable "private_zone_id" {
  description = "The private Route53 hosted zone of the same domain, associated with the VPC whose instances should get private addresses."
  type        = string
}

variable "subdomain" {
  description = "The domain below which tags may name records, such as dyn.example.com: a subdomain kept for the fleet."
  type        = string
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

output "rule_names" {
  description = "The EventBridge rules that wake the function, by purpose."
  value       = module.ddns.rule_names
}

output "logs_tail_command" {
  description = "Follow the function's logs."
  value       = module.ddns.logs_tail_command
}
