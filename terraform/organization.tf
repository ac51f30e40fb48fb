# Organizations, the central side: one deployment follows instances in other accounts and
# regions (the targets). Each target's account and region forwards its EC2 events to a bus here
# (modules/member makes the rules and, once per account, the reader role); this file makes that
# bus, its policy, its rules to the function, and hands the function the targets (DDNS_TARGETS)
# and the role for Route53 in a DNS account (DDNS_ROUTE53_ROLE_ARN). The function's sts:AssumeRole
# statement is in iam.tf. Without targets and route53_role_arn, nothing here exists.

variable "targets" {
  description = <<-EOT
    Other accounts and regions whose instances the function follows (DDNS_TARGETS): for each
    account, the reader role the function assumes there (modules/member makes it: it may call
    ec2:DescribeInstances and nothing else), the regions it follows there, and the role's
    external id when it asks for one. The function's own account and region are always followed
    and are not listed. Each account and region listed applies modules/member, which forwards
    its events to event_bus_arn.
  EOT
  type = list(object({
    account_id  = string
    role_arn    = string
    regions     = list(string)
    external_id = optional(string)
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for t in var.targets : can(regex("^[0-9]{12}$", t.account_id))])
    error_message = "Every targets[].account_id must be an AWS account id: 12 digits, like 111122223333."
  }
  validation {
    condition     = alltrue([for t in var.targets : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", t.role_arn))])
    error_message = "Every targets[].role_arn must be an IAM role ARN, like arn:aws:iam::111122223333:role/dynamic-dns-updater-reader."
  }
  validation {
    # The function assumes the role to read the account's instances: a role elsewhere would read another account's.
    condition     = alltrue([for t in var.targets : try(split(":", t.role_arn)[4] == t.account_id, false)])
    error_message = "Every targets[].role_arn must be a role in that target's account_id (the ARN's fifth field)."
  }
  validation {
    condition     = alltrue([for t in var.targets : length(t.regions) > 0 && alltrue([for r in t.regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", r))])])
    error_message = "Every targets[].regions must list at least one region name, like eu-west-1 or us-gov-west-1."
  }
  validation {
    condition     = alltrue([for t in var.targets : t.external_id == null || try(length(t.external_id) >= 2 && length(t.external_id) <= 1224 && can(regex("^[a-zA-Z0-9_+=,.@:/-]+$", t.external_id)), false)])
    error_message = "Every targets[].external_id must be 2 to 1224 letters, digits and _ + = , . @ : / - (what STS accepts)."
  }
  validation {
    condition = length(flatten([for t in var.targets : [for r in t.regions : "${t.account_id} ${r}"]])) == length(distinct(flatten(
      [for t in var.targets : [for r in t.regions : "${t.account_id} ${r}"]]
    )))
    error_message = "An account and region appears twice in targets: list each account once, with all its regions, and each region once."
  }
}

variable "route53_role_arn" {
  description = <<-EOT
    The role in the DNS account that holds the hosted zones (DDNS_ROUTE53_ROLE_ARN): the function
    makes every Route53 call as that role, so its own role gets no Route53 statement, and the
    role needs what the output route53_policy holds, with a trust policy naming role_arn. The
    zones are then another account's, which this stack cannot read: the plan's checks of zone
    names (records inside their zones, tag_suffixes inside the zones, one zone per domain and
    type) are left to the function, which makes them at start-up. null (the default): the zones
    are in this account.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.route53_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", coalesce(var.route53_role_arn, "-")))
    error_message = "route53_role_arn must be an IAM role ARN, like arn:aws:iam::444455556666:role/dynamic-dns-updater-route53."
  }
  validation {
    # tag_anywhere's IAM statement names the zones' domains, which cannot be read from here.
    condition     = var.route53_role_arn == null || !var.tag_anywhere
    error_message = "route53_role_arn and tag_anywhere exclude each other: the zones' names cannot be read from this account to scope the DNS role's policy. Give tag_suffixes instead."
  }
}

variable "organization_id" {
  description = "The AWS Organizations id (o-…) whose accounts may put events on the bus members forward to (aws:PrincipalOrgID), instead of listing each target's account in the bus policy: a new member account then needs no change here beyond targets. The function still refuses events of accounts and regions that targets does not list. null (the default): the targets' accounts."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", coalesce(var.organization_id, "-")))
    error_message = "organization_id must be an AWS Organizations id: o- and 10 to 32 lower-case letters and digits, like o-a1b2c3d4e5."
  }
  validation {
    condition     = var.organization_id == null || length(var.targets) > 0
    error_message = "organization_id needs targets: it opens the bus that targets' events arrive on, and without targets there is none."
  }
}

variable "central_event_bus" {
  description = <<-EOT
    The event bus in this account and region that targets forward their events to (output
    event_bus_arn). null (the default) creates "<function_name>-members", with its own rules to
    the function, when targets is not empty. "default" uses the default bus instead, whose rules
    the stack already has; the stack then adds one statement per target account (or one for
    organization_id) to that bus's policy, named "<function_name>-...", and leaves the others
    there alone. Another name creates a bus of that name.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.central_event_bus == null || can(regex("^[a-zA-Z0-9._-]{1,256}$", coalesce(var.central_event_bus, "-"))) && !startswith(coalesce(var.central_event_bus, "-"), "aws.")
    error_message = "central_event_bus must be \"default\" or an event bus name: 1 to 256 letters, digits and . _ -, not starting with aws."
  }
}

locals {
  targeted        = length(var.targets) > 0
  zones_elsewhere = var.route53_role_arn != null

  # "account region" of each target, and of the function's own place, which is always followed.
  home         = "${local.account} ${local.region}"
  target_pairs = flatten([for t in var.targets : [for r in t.regions : "${t.account_id} ${r}"]])

  member_bus_name = coalesce(var.central_event_bus, "${local.name}-members")
  own_member_bus  = local.targeted && local.member_bus_name != "default"
  member_bus_arn  = "arn:${local.partition}:events:${local.region}:${local.account}:event-bus/${local.member_bus_name}"
  # The accounts whose events arrive on it, unless organization_id admits its whole organization.
  forwarding_accounts = sort(distinct([for t in var.targets : t.account_id]))

  # The roles the function assumes: each target's reader role, and the DNS account's.
  assumed_role_arns = sort(distinct(concat([for t in var.targets : t.role_arn], compact([var.route53_role_arn]))))

  organization_environment = merge(
    local.targeted ? {
      DDNS_TARGETS = jsonencode([for t in var.targets : merge(
        { account_id = t.account_id, role_arn = t.role_arn, regions = distinct(t.regions) },
        t.external_id == null ? {} : { external_id = t.external_id },
      )])
    } : {},
    local.zones_elsewhere ? { DDNS_ROUTE53_ROLE_ARN = var.route53_role_arn } : {},
  )

  # With route53_role_arn every Route53 call is made as that role: the statements go to it
  # (output route53_policy), and the function's own role keeps the rest.
  route53_statements = [for s in local.policy_statements : s if startswith(s.Action[0], "route53:")]
  own_statements     = [for s in local.policy_statements : s if !local.zones_elsewhere || !startswith(s.Action[0], "route53:")]

  # The rules on the members' bus: the stack's own event rules (main.tf), with the same
  # patterns, which name no account, so they match every member's events. The default bus has
  # those rules already.
  member_rules = local.own_member_bus ? { for k, r in local.rules : k => merge(r, {
    name        = "${local.name}-members-${trimprefix(r.name, "${local.name}-")}"
    description = "${r.description}, in a target account or region"
  }) if r.event_pattern != null } : {}

  # Mappings of instances elsewhere name their account and region (both or neither).
  misplaced_mappings = [for r in local.records : "${r.name} (${r.account_id} ${r.region})"
  if r.account_id == null ? false : !contains(concat([local.home], local.target_pairs), "${r.account_id} ${r.region}")]
}

resource "terraform_data" "targets_are_elsewhere" {
  lifecycle {
    precondition {
      condition     = !contains(local.target_pairs, local.home)
      error_message = "targets lists this stack's own account and region (${local.home}), which the function always follows with its own role: remove that region from the target."
    }
  }
}

resource "terraform_data" "mappings_in_targets" {
  lifecycle {
    precondition {
      condition     = length(local.misplaced_mappings) == 0
      error_message = "These records[] name an account and region that is neither this stack's (${local.home}) nor in targets, so the function could not read their instances: ${join(", ", local.misplaced_mappings)}."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# The bus the members forward to, and who may put events on it
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_event_bus" "members" {
  count = local.own_member_bus ? 1 : 0
  name  = local.member_bus_name
  tags  = var.tags
}

# The bus the stack makes is its own, policy and all. The default bus is shared with whatever else
# the account runs: there each grant is a statement of its own, which a destroy removes alone.
resource "aws_cloudwatch_event_bus_policy" "members" {
  count          = local.own_member_bus ? 1 : 0
  event_bus_name = aws_cloudwatch_event_bus.members[0].name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(var.organization_id != null ? [] : [
      {
        Sid       = "TargetAccountsForwardEvents"
        Effect    = "Allow"
        Principal = { AWS = [for a in local.forwarding_accounts : "arn:${local.partition}:iam::${a}:root"] }
        Action    = "events:PutEvents"
        Resource  = local.member_bus_arn
      },
      ], var.organization_id == null ? [] : [
      {
        Sid       = "OrganizationForwardsEvents"
        Effect    = "Allow"
        Principal = "*"
        Action    = "events:PutEvents"
        Resource  = local.member_bus_arn
        Condition = { StringEquals = { "aws:PrincipalOrgID" = var.organization_id } }
      },
    ])
  })
}

resource "aws_cloudwatch_event_permission" "members" {
  # A statement id is at most 64 letters, digits, - and _: the name is cut to leave room for the key.
  for_each       = local.targeted && !local.own_member_bus ? toset(var.organization_id == null ? local.forwarding_accounts : ["organization"]) : toset([])
  event_bus_name = "default"
  statement_id   = "${substr(local.name, 0, min(length(local.name), 63 - length(each.key)))}-${each.key}"
  principal      = var.organization_id == null ? each.key : "*"
  action         = "events:PutEvents"

  dynamic "condition" {
    for_each = var.organization_id == null ? [] : [var.organization_id]
    content {
      key   = "aws:PrincipalOrgID"
      type  = "StringEquals"
      value = condition.value
    }
  }
}

resource "aws_cloudwatch_event_rule" "members" {
  for_each       = local.member_rules
  name           = each.value.name
  description    = each.value.description
  event_bus_name = aws_cloudwatch_event_bus.members[0].name
  event_pattern  = each.value.event_pattern
  tags           = var.tags
}

# As in main.tf: the targets and permissions depend on the release, so that a destroy removes
# them before the release starts.
resource "aws_cloudwatch_event_target" "members" {
  for_each       = local.member_rules
  rule           = aws_cloudwatch_event_rule.members[each.key].name
  event_bus_name = aws_cloudwatch_event_bus.members[0].name
  target_id      = "lambda"
  arn            = aws_lambda_function.this.arn

  depends_on = [aws_lambda_invocation.release]
}

resource "aws_lambda_permission" "members" {
  for_each      = local.member_rules
  statement_id  = "events-members-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.members[each.key].arn

  depends_on = [aws_lambda_invocation.release]
}

# A rule that cannot invoke the function fails without a word, as on the default bus
# (monitoring.tf); a custom bus's rules are measured by bus and rule.
resource "aws_cloudwatch_metric_alarm" "members" {
  for_each            = var.create_alarms ? local.member_rules : {}
  alarm_name          = "${local.name}-failed-invocations-members-${replace(each.key, "_", "-")}"
  alarm_description   = "EventBridge could not invoke ${local.name} for rule ${each.value.name} on the ${local.member_bus_name} bus (a missing permission, a deleted function, throttling past its retries)."
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { EventBusName = local.member_bus_name, RuleName = each.value.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
