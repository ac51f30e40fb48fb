# An example use of the module: two names for one instance, one of them with IPv6 too, a webhook
# and an alarm address. To use it, copy this folder anywhere and point `source` below at the
# module: the path of this repository's terraform/ folder, relative or absolute (it says
# "../.." because it lives inside that folder), or a git URL such as
# "git::https://example.com/you/dynamic-dns-updater.git//terraform?ref=v1.0.0". Then fill in
# terraform.tfvars (see terraform.tfvars.example), run terraform init and terraform apply, and
# give the webhook's URL and secret as TF_VAR_webhook_url and TF_VAR_webhook_secret, so that no
# file holds them. build.sh, at the repository's top, makes the zip.

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

  records = [
    { instance_id = var.instance_id, zone_id = var.zone_id, name = "app.${var.domain}", types = ["A", "AAAA"] },
    { instance_id = var.instance_id, zone_id = var.zone_id, name = "ssh.${var.domain}", ttl = 300 },
  ]

  webhook_enabled        = var.webhook_enabled
  webhook_signed         = var.webhook_signed
  webhook_url            = var.webhook_url
  webhook_secret         = var.webhook_secret
  webhook_version        = var.webhook_version
  webhook_secret_version = var.webhook_secret_version
  on_stop                = "delete"
  alarm_email            = var.alarm_email
}

variable "function_name" {
  description = "Name of the function and prefix of its resources."
  type        = string
  default     = "dynamic-dns-updater"
}

variable "zip_path" {
  description = "The zip that build.sh makes: <repository>/target/lambda/dynamic-dns-updater/bootstrap.zip."
  type        = string
}

variable "instance_id" {
  description = "The EC2 instance to follow, such as i-0123456789abcdef0."
  type        = string
}

variable "zone_id" {
  description = "The Route53 hosted zone id of var.domain."
  type        = string
}

variable "domain" {
  description = "The hosted zone's domain, such as example.com."
  type        = string
}

variable "webhook_enabled" {
  description = "Send alerts to var.webhook_url."
  type        = bool
  default     = false
}

variable "webhook_signed" {
  description = "Sign alerts with var.webhook_secret."
  type        = bool
  default     = false
}

variable "webhook_url" {
  description = "The https webhook for alerts (TF_VAR_webhook_url). Needed when its parameter is created or webhook_version changes."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "webhook_secret" {
  description = "The HMAC secret that signs alerts (TF_VAR_webhook_secret). Needed when its parameter is created or webhook_secret_version changes."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true
}

variable "webhook_version" {
  description = "Raise, with the new webhook_url, to write it."
  type        = number
  default     = 1
}

variable "webhook_secret_version" {
  description = "Raise, with the new webhook_secret, to write it."
  type        = number
  default     = 1
}

variable "alarm_email" {
  description = "An e-mail address the alarms notify (null for none)."
  type        = string
  default     = null
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.ddns.function_name
}

output "rule_names" {
  description = "The EventBridge rules that invoke it."
  value       = module.ddns.rule_names
}

output "logs_tail_command" {
  description = "Follow the function's logs."
  value       = module.ddns.logs_tail_command
}
