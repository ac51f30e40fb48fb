# An example of fleet mode: instances name their own records with a tag (ddns:name =
# "{id}.dyn.example.com", one name per instance), and join groups with another (ddns:group =
# "web.dyn.example.com": one record set holding every running member's address), below a
# subdomain kept for them, with A and AAAA records, and alarms that mail an address. Both tags
# fit an Auto Scaling group's launch template (README, "Groups and Auto Scaling"). To use it,
# copy this folder anywhere and point `source` below at the module: the path of this
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

  # Any instance with this tag gets the records its value names (comma-separated), but only
  # below var.subdomain: the role may write nowhere else in the zone. The group tag's names obey
  # the same rules; each holds at most group_max (8) members' addresses.
  tag_key                = "ddns:name"
  group_tag_key          = "ddns:group"
  discovery_zone_ids     = [var.zone_id]
  tag_suffixes           = [var.subdomain]
  discovery_record_types = ["A", "AAAA"]

  alarm_email   = var.alarm_email
  alarm_actions = var.alarm_actions
}

variable "function_name" {
  description = "Name of the function and prefix of its resources."
  type        = string
  default     = "ddns-fleet"
}

variable "zip_path" {
  description = "The zip that build.sh makes: <repository>/target/lambda/dynamic-dns-updater/bootstrap.zip."
  type        = string
}

variable "zone_id" {
  description = "The Route53 hosted zone id that holds var.subdomain."
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

variable "alarm_actions" {
  description = "Further SNS topic ARNs the alarms notify."
  type        = list(string)
  default     = []
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.ddns.function_name
}

output "alarm_names" {
  description = "The alarms, by purpose."
  value       = module.ddns.alarm_names
}

output "failed_events_queue_url" {
  description = "Where events that failed every retry wait."
  value       = module.ddns.failed_events_queue_url
}

output "logs_tail_command" {
  description = "Follow the function's logs."
  value       = module.ddns.logs_tail_command
}
