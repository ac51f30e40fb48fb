# The member side of an organization deployment, applied once in each account and region that
# the central function follows (an entry of its targets): rules on this account's default event
# bus that forward the events the function acts on to the central bus, the role EventBridge puts
# them there with, and, once per account, the reader role the function assumes to describe the
# instances here. No provider block: the caller's provider says which account and region.
#
# The patterns are the root module's (../../main.tf, "Triggers"), copied so that this module
# stands alone. They name no instance: the central stack's rules narrow them to what it follows.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  region  = data.aws_region.current.id
  account = data.aws_caller_identity.current.account_id

  # arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME
  central_region  = split(":", var.central_event_bus_arn)[3]
  central_account = split(":", var.central_event_bus_arn)[4]

  rules = merge(
    {
      state_change = {
        name        = "${var.name}-ec2-state"
        description = "Forwards EC2 state changes to ${var.central_event_bus_arn}"
        event_pattern = jsonencode({
          source        = ["aws.ec2"]
          "detail-type" = ["EC2 Instance State-change Notification"]
          # stopping and shutting-down: the records go while the instance still holds its address.
          detail = { state = ["running", "stopping", "stopped", "shutting-down", "terminated"] }
        })
      }
    },
    var.ddns_api_call_events ? {
      api_call = {
        name        = "${var.name}-ec2-address"
        description = "Forwards Elastic IP and IPv6 address API calls to ${var.central_event_bus_arn}"
        event_pattern = jsonencode({
          source        = ["aws.ec2"]
          "detail-type" = ["AWS API Call via CloudTrail"]
          detail = {
            eventSource = ["ec2.amazonaws.com"]
            eventName   = ["AssociateAddress", "DisassociateAddress", "AssignIpv6Addresses", "UnassignIpv6Addresses"]
          }
        })
      }
    } : {},
    var.ddns_spot_interruption_events ? {
      spot_interruption = {
        name          = "${var.name}-spot-warning"
        description   = "Forwards EC2 Spot Instance Interruption Warnings to ${var.central_event_bus_arn}"
        event_pattern = jsonencode({ source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] })
      }
    } : {},
    length(var.tag_keys) > 0 ? {
      tag_change = {
        name        = "${var.name}-tag-change"
        description = "Forwards changes of the ${join(" or ", var.tag_keys)} tag of an instance to ${var.central_event_bus_arn}"
        event_pattern = jsonencode({
          source        = ["aws.tag"]
          "detail-type" = ["Tag Change on Resource"]
          detail = {
            service            = ["ec2"]
            "resource-type"    = ["instance"]
            "changed-tag-keys" = distinct(var.tag_keys)
          }
        })
      }
    } : {},
  )
}

# The central stack follows its own account and region with its own rules; forwarding them to
# itself would wake the function twice for each event.
resource "terraform_data" "not_the_central_region" {
  lifecycle {
    precondition {
      condition     = !(local.central_account == local.account && local.central_region == local.region)
      error_message = "This provider is in the central stack's own account and region (${local.account} ${local.region}), which the central stack follows without this module. Apply it with a provider for a target's account and region."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Forwarding: EventBridge puts the matched events on the central bus with this role
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "forward" {
  name        = "${var.name}-forward-${local.region}"
  description = "EventBridge forwards this account's EC2 events in ${local.region} to ${var.central_event_bus_arn}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Only this account's rules may use it.
      Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "forward" {
  name = "put-events-on-the-central-bus"
  role = aws_iam_role.forward.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "PutEventsOnTheCentralBus"
      Effect   = "Allow"
      Action   = ["events:PutEvents"]
      Resource = [var.central_event_bus_arn]
    }]
  })
}

resource "aws_cloudwatch_event_rule" "forward" {
  for_each      = local.rules
  name          = each.value.name
  description   = each.value.description
  event_pattern = each.value.event_pattern
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "forward" {
  for_each  = local.rules
  rule      = aws_cloudwatch_event_rule.forward[each.key].name
  target_id = "central-bus"
  arn       = var.central_event_bus_arn
  role_arn  = aws_iam_role.forward.arn

  # The role's permission first, so that no event is refused while it is being made.
  depends_on = [aws_iam_role_policy.forward]
}

# A rule that cannot put its events on the central bus fails without a word in the central
# account: EventBridge counts the failures here, by rule, so the alarms are here.
resource "aws_cloudwatch_metric_alarm" "forward" {
  for_each            = var.create_alarms ? local.rules : {}
  alarm_name          = "${each.value.name}-forwarding-failed"
  alarm_description   = "EventBridge could not forward ${each.value.name}'s events from ${local.account} ${local.region} to ${var.central_event_bus_arn} (the bus gone, its policy refusing this account, or the forwarding role without events:PutEvents): the central function misses them until its schedule."
  namespace           = "AWS/Events"
  metric_name         = "FailedInvocations"
  dimensions          = { RuleName = aws_cloudwatch_event_rule.forward[each.key].name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# ---------------------------------------------------------------------------------------------
# The reader role: what the central function may do here, which is to describe instances
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "reader" {
  count       = var.create_reader_role ? 1 : 0
  name        = var.reader_role_name
  description = "Lets the dynamic-dns-updater function ${var.central_role_arn} describe this account's instances"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [merge(
      {
        Effect    = "Allow"
        Principal = { AWS = var.central_role_arn }
        Action    = "sts:AssumeRole"
      },
      var.external_id == null ? {} : { Condition = { StringEquals = { "sts:ExternalId" = var.external_id } } },
    )]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "reader" {
  count = var.create_reader_role ? 1 : 0
  name  = "describe-instances"
  role  = aws_iam_role.reader[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "FindInstanceAddresses"
      Effect   = "Allow"
      Action   = ["ec2:DescribeInstances"]
      Resource = ["*"] # DescribeInstances supports no resource-level scope.
    }]
  })
}
