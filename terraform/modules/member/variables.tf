# Inputs of the member module. The values come from the central stack's outputs (event_bus_arn,
# role_arn) and from its inputs (tag_key and group_tag_key, the event switches, the target's
# external_id), so that a member forwards what the central function listens for.

variable "central_event_bus_arn" {
  description = "The central stack's event_bus_arn output: the bus in the central account and region that this account and region forward their EC2 events to."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:events:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:event-bus/[a-zA-Z0-9._-]+$", var.central_event_bus_arn))
    error_message = "central_event_bus_arn must be an event bus ARN, like arn:aws:events:us-east-1:123456789012:event-bus/dynamic-dns-updater-members (the central stack's event_bus_arn output)."
  }
}

variable "central_role_arn" {
  description = "The central stack's role_arn output: the function's execution role, the one principal the reader role trusts."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.central_role_arn))
    error_message = "central_role_arn must be an IAM role ARN, like arn:aws:iam::123456789012:role/dynamic-dns-updater-us-east-1 (the central stack's role_arn output)."
  }
}

variable "name" {
  description = "Prefix of the rules and of the forwarding role this module creates (the role adds the region, so one account's regions do not collide). The central stack's function_name is a good choice."
  type        = string
  default     = "dynamic-dns-updater"
  nullable    = false

  validation {
    # The forwarding role adds "-forward-" and a region name (up to 14 characters) within its 64.
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,39}$", var.name))
    error_message = "name must be 1 to 40 letters, digits and hyphens, starting with a letter."
  }
}

variable "tag_keys" {
  description = "The tag keys whose changes the central function follows: its tag_key and group_tag_key (fleet mode, groups). A rule forwards Tag Change on Resource events of EC2 instances whose changed-tag-keys hold one of them. Empty (the default): no tag rule, as for a central stack without fleet mode or groups."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for k in var.tag_keys : can(regex("^[a-zA-Z0-9 _.:/=+@-]{1,128}$", k)) && !startswith(k, "aws:")])
    error_message = "Every tag_keys entry must be a valid EC2 tag key of 1 to 128 characters (letters, digits, spaces and _ . : / = + - @), not starting with aws:."
  }
}

variable "ddns_api_call_events" {
  description = "Forward the EC2 API calls that change a running instance's address (AssociateAddress, DisassociateAddress, AssignIpv6Addresses, UnassignIpv6Addresses, as \"AWS API Call via CloudTrail\"). As on the central stack, these reach EventBridge only from an account with a trail recording management events. Match the central stack's ddns_api_call_events."
  type        = bool
  default     = true
  nullable    = false
}

variable "ddns_spot_interruption_events" {
  description = "Forward EC2 Spot Instance Interruption Warnings. Match the central stack's ddns_spot_interruption_events."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_reader_role" {
  description = "Create the reader role, which the central function assumes to call ec2:DescribeInstances in this account. IAM roles belong to the account, not the region: apply this module with true in one region of each account, and false in its other regions."
  type        = bool
  default     = true
  nullable    = false
}

variable "reader_role_name" {
  description = "Name of the reader role. Its ARN (output reader_role_arn) is the role_arn of this account's entry in the central stack's targets."
  type        = string
  default     = "dynamic-dns-updater-reader"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.reader_role_name))
    error_message = "reader_role_name must be 1 to 64 letters, digits and + = , . @ _ -."
  }
}

variable "external_id" {
  description = "The external id the central function must give to assume the reader role (sts:ExternalId): the external_id of this account's entry in the central stack's targets. null (the default): none asked for."
  type        = string
  default     = null

  validation {
    condition     = var.external_id == null || try(length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[a-zA-Z0-9_+=,.@:/-]+$", var.external_id)), false)
    error_message = "external_id must be 2 to 1224 letters, digits and _ + = , . @ : / - (what STS accepts)."
  }
}

variable "create_alarms" {
  description = "Make a CloudWatch alarm per forwarding rule that goes off when EventBridge fails to put its events on the central bus (a deleted bus, a bus policy that refuses this account, a role without the permission). The failures are counted in this account only, so the alarms live here; alarm_actions says who hears of them."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_actions" {
  description = "What the forwarding alarms notify, going off and back to OK: ARNs of SNS topics the operators watch (a topic in this account, or a topic elsewhere whose policy lets this account's CloudWatch publish). Empty: the alarms only show in this account's console."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.alarm_actions : can(regex("^arn:aws[a-z-]*:", a))])
    error_message = "Every alarm_actions entry must be an ARN, like arn:aws:sns:eu-west-1:111122223333:ops-alarms."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
