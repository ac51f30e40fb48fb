# What the central stack needs from a member: the reader role's ARN for its targets.

output "reader_role_arn" {
  description = "ARN of the reader role: the role_arn of this account's entry in the central stack's targets. null with create_reader_role = false (the role is made in another region of the account)."
  value       = one(aws_iam_role.reader[*].arn)
}

output "forward_role_arn" {
  description = "ARN of the role EventBridge forwards this account's events to the central bus with."
  value       = aws_iam_role.forward.arn
}

output "rule_names" {
  description = "The forwarding rules on this account's default bus, by purpose: state_change, api_call and spot_interruption (when switched on), tag_change (with tag_keys)."
  value       = { for k, r in aws_cloudwatch_event_rule.forward : k => r.name }
}

output "account_id" {
  description = "The account this member is applied in."
  value       = local.account
}

output "region" {
  description = "The region this member is applied in."
  value       = local.region
}

output "alarm_names" {
  description = "The alarms on failed forwarding, by rule purpose (empty with create_alarms = false)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.forward : k => a.alarm_name }
}
