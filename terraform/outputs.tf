# What a caller needs to find, watch and wire the function.

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "region" {
  description = "The region the stack is deployed in (deploy.sh compares it with the region it is given)."
  value       = local.region
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "rule_names" {
  description = "EventBridge rules that invoke the function, by purpose: schedule, state_change, api_call (with ddns_api_call_events), spot_interruption (with ddns_spot_interruption_events) and, in fleet mode or with groups, tag_change."
  value       = { for k, r in aws_cloudwatch_event_rule.this : k => r.name }
}

output "log_group_name" {
  description = "CloudWatch Logs group of the function."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's CloudWatch Logs group (without the trailing :*), for subscriptions and log policies."
  value       = aws_cloudwatch_log_group.this.arn
}

output "logs_tail_command" {
  description = "Follow the function's logs."
  value       = "aws logs tail ${aws_cloudwatch_log_group.this.name} --follow --region ${local.region}"
}

output "failed_events_queue_url" {
  description = "SQS queue holding events that failed every retry."
  value       = aws_sqs_queue.failed_events.url
}

output "failed_events_queue_arn" {
  description = "ARN of the SQS queue holding events that failed every retry: to redrive from, or to subscribe."
  value       = aws_sqs_queue.failed_events.arn
}

output "alarm_names" {
  description = "CloudWatch alarms by purpose: failures (errors a retry could fix), incidents (open problems), startup, errors (failed events), throttles, heartbeat (fewer invocations than the schedule asks), failed_events (new messages in the failure queue), webhook_unavailable (with a webhook) and failed_invocations_<rule> per EventBridge rule. Empty with create_alarms = false."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }
}

output "alarm_topic_arn" {
  description = "The SNS topic alarm_email subscribes to (null without alarm_email)."
  value       = one(aws_sns_topic.alarms[*].arn)
}

output "dashboard_name" {
  description = "The CloudWatch dashboard of the function's metrics (null with create_dashboard = false)."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}

output "incidents_parameter" {
  description = "The SSM parameter where the function keeps open incidents (it creates it on the first write; a release deletes it). Only with a webhook."
  value       = var.webhook_enabled ? local.incidents_parameter : null
}

output "webhook_parameter_names" {
  description = "SSM SecureString parameters holding the webhook URL and secret (empty when unset). The values themselves never leave SSM."
  value       = concat(aws_ssm_parameter.webhook_url[*].name, aws_ssm_parameter.webhook_secret[*].name)
}

output "ddns_records" {
  description = "The DDNS_RECORDS value given to the function: every mapping (instance_id, or a static group's instance_ids), normalised."
  value       = local.ddns_records
}

output "owner_id" {
  description = "The owner id the function writes in its ownership markers (DDNS_OWNER_ID); the CLI needs it to act for this deployment."
  value       = local.environment.DDNS_OWNER_ID
}

output "event_bus_arn" {
  description = "The event bus that targets' accounts and regions forward their EC2 events to (modules/member's central_event_bus_arn): <function_name>-members, or the default bus with central_event_bus = \"default\". null without targets."
  value       = local.targeted ? local.member_bus_arn : null
}

output "route53_policy" {
  description = "With route53_role_arn: the IAM policy (JSON) that role in the DNS account needs, the Route53 statements the function's own role would otherwise hold. null without route53_role_arn."
  value       = local.zones_elsewhere ? jsonencode({ Version = "2012-10-17", Statement = local.route53_statements }) : null
}

output "release_on_destroy" {
  description = "Whether a destroy of this stack releases its DNS records: the value applied, which is the one a destroy follows (deploy.sh words its destroy by it)."
  value       = var.release_on_destroy
}
