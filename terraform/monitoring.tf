# Seeing it: alarms on the function's own metrics (the EMF line each invocation writes in the
# DynamicDnsUpdater namespace), a topic that reaches someone, and a dashboard.

locals {
  namespace     = "DynamicDnsUpdater"
  alarm_actions = concat(var.alarm_actions, aws_sns_topic.alarms[*].arn)

  # One alarm per way of failing quietly. Failed sweeps no longer show in Lambda's Errors
  # (a sweep never asks for a retry), so the function's own Failures metric is watched.
  alarms = {
    failures = {
      description = "${local.name} met errors a retry could fix (throttling, server errors, timeouts) for 10 minutes."
      namespace   = local.namespace
      metric      = "Failures"
      statistic   = "Sum"
      periods     = 2
      dimensions  = { FunctionName = local.name }
    }
    incidents = {
      description = "${local.name} has open problems that need a person (a record it does not own, a refused name, a denial). The webhook names them; so do the logs: aws logs tail ${local.log_group_name} --since 1h"
      namespace   = local.namespace
      metric      = "IncidentsOpen"
      statistic   = "Maximum"
      periods     = 1
      dimensions  = { FunctionName = local.name }
    }
    startup = {
      description = "${local.name} could not start (bad configuration, an SSM parameter or KMS key it cannot use): no webhook can say so. Read: aws logs tail ${local.log_group_name} --since 1h"
      namespace   = local.namespace
      metric      = "StartupFailures"
      statistic   = "Sum"
      periods     = 1
      dimensions  = { FunctionName = local.name }
    }
    errors = {
      description = "An event for ${local.name} failed at least once in 5 minutes. Read: aws logs tail ${local.log_group_name} --since 1h"
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      periods     = 1
      dimensions  = { FunctionName = local.name }
    }
    failed_events = {
      description = "An event for ${local.name} failed every retry and waits in the ${local.queue_name} queue."
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      periods     = 1
      dimensions  = { QueueName = local.queue_name }
    }
  }
}

resource "aws_sns_topic" "alarms" {
  count             = var.alarm_email != null ? 1 : 0
  name              = "${local.name}-alarms"
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alarms" {
  count     = var.alarm_email != null ? 1 : 0
  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = local.alarms
  alarm_name          = "${local.name}-${replace(each.key, "_", "-")}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = each.value.periods
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  depends_on = [aws_lambda_function.this, aws_sqs_queue.failed_events]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = local.name
  dashboard_body = jsonencode({
    widgets = concat([for i, w in [
      { title = "Records changed and in sync", metrics = ["RecordsChanged", "RecordsInSync"], stat = "Sum" },
      { title = "Open incidents", metrics = ["IncidentsOpen"], stat = "Maximum" },
      { title = "Failures and problems", metrics = ["Failures", "Problems", "StartupFailures"], stat = "Sum" },
      { title = "Webhook failures", metrics = ["WebhookFailures", "IncidentStoreFailures"], stat = "Sum" },
      { title = "AWS calls", metrics = ["AwsCalls"], stat = "Sum" },
      { title = "Tagged names in other deployments' zones", metrics = ["NamesOutsideZones"], stat = "Maximum" },
      ] : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = floor(i / 2) * 6
      width  = 12
      height = 6
      properties = {
        title   = w.title
        region  = local.region
        stat    = w.stat
        period  = 300
        metrics = [for m in w.metrics : [local.namespace, m, "FunctionName", local.name]]
      }
      }], [{
      type   = "metric"
      x      = 0
      y      = 18
      width  = 24
      height = 6
      properties = {
        title   = "Duration"
        region  = local.region
        stat    = "Average"
        period  = 300
        metrics = [["AWS/Lambda", "Duration", "FunctionName", local.name]]
      }
    }])
  })
}
