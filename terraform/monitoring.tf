# Seeing it: alarms on the function's own metrics (the EMF line each invocation writes in the
# DynamicDnsUpdater namespace) and on what AWS measures around it, a topic that reaches someone,
# and a dashboard. create_alarms and create_dashboard switch them off.

locals {
  namespace     = "DynamicDnsUpdater"
  alarm_actions = concat(var.alarm_actions, aws_sns_topic.alarms[*].arn)
  function      = { FunctionName = local.name } # the dimension of AWS/Lambda's metrics and of the function's own

  # The heartbeat expects the schedule's invocations: period is the schedule's interval, at least
  # 5 minutes; fewer than half of the expected invocations (at least one) sets it off. A cron()
  # schedule, or a rate() slower than a day, has no heartbeat (a period is at most a day).
  schedule_rate    = try(regex("^rate\\(([0-9]+) (minute|hour|day)s?\\)$", var.schedule_expression), null)
  schedule_seconds = local.schedule_rate == null ? null : tonumber(local.schedule_rate[0]) * { minute = 60, hour = 3600, day = 86400 }[local.schedule_rate[1]]
  heartbeat_period = local.schedule_seconds == null ? null : max(300, local.schedule_seconds)
  heartbeat        = local.schedule_seconds != null && try(local.schedule_seconds <= 86400, false)

  # One alarm per way of failing, loudly or quietly. Failed sweeps no longer show in Lambda's
  # Errors (a sweep never asks for a retry), so the function's own Failures metric is watched.
  # Defaults: 5-minute periods, Sum > 0, missing data is not a failure.
  alarm_specs = merge(
    {
      failures = {
        description = "${local.name} met errors a retry could fix (throttling, server errors, timeouts) for 10 minutes."
        namespace   = local.namespace
        metric      = "Failures"
        periods     = 2
        dimensions  = local.function
      }
      incidents = {
        description = "${local.name} has open problems that need a person (a record it does not own, a refused name, a denial). The webhook names them; so do the logs: aws logs tail ${local.log_group_name} --since 1h"
        namespace   = local.namespace
        metric      = "IncidentsOpen"
        statistic   = "Maximum"
        dimensions  = local.function
      }
      startup = {
        description = "${local.name} could not start (bad configuration, an SSM parameter or KMS key it cannot use): no webhook can say so. Read: aws logs tail ${local.log_group_name} --since 1h"
        namespace   = local.namespace
        metric      = "StartupFailures"
        dimensions  = local.function
      }
      errors = {
        description = "An event for ${local.name} failed at least once in 5 minutes. Read: aws logs tail ${local.log_group_name} --since 1h"
        namespace   = "AWS/Lambda"
        metric      = "Errors"
        dimensions  = local.function
      }
      throttles = {
        description = "Lambda refused to run ${local.name} (throttled): reserved_concurrency too low, or the account's concurrency used up. Events are retried, then queued in ${local.queue_name}."
        namespace   = "AWS/Lambda"
        metric      = "Throttles"
        dimensions  = local.function
      }
      failed_events = {
        # New messages, not the queue's depth: a second failure notifies too while the first
        # still waits in the queue.
        description = "An event for ${local.name} failed every retry and was sent to the ${local.queue_name} queue. Inspect and redrive it as terraform/README.md says (Alarms and the dashboard)."
        namespace   = "AWS/SQS"
        metric      = "NumberOfMessagesSent"
        dimensions  = { QueueName = local.queue_name }
      }
    },
    local.heartbeat ? {
      heartbeat = {
        description = "${local.name} ran fewer times than its schedule (${var.schedule_expression}) asks: a disabled rule, a removed permission or reserved_concurrency = 0 stops it without an error."
        namespace   = "AWS/Lambda"
        metric      = "Invocations"
        period      = local.heartbeat_period
        comparison  = "LessThanThreshold"
        threshold   = max(1, floor(local.heartbeat_period / local.schedule_seconds / 2))
        missing     = "breaching"
        dimensions  = local.function
      }
    } : {},
    var.webhook_enabled ? {
      webhook_unavailable = {
        description = "${local.name} cannot read its webhook parameters (SSM denied, a KMS key it cannot use, a stand-in value): DNS goes on, but no alert is sent until a cold start reads a good value. Read: aws logs tail ${local.log_group_name} --since 1h"
        namespace   = local.namespace
        metric      = "WebhookUnavailable"
        dimensions  = local.function
      }
    } : {},
    { for k, r in local.rules : "failed_invocations_${k}" => {
      description = "EventBridge could not invoke ${local.name} for rule ${r.name} (a missing permission, a deleted function, throttling past its retries)."
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      dimensions  = { RuleName = r.name }
    } },
  )
  alarms = var.create_alarms ? { for k, a in local.alarm_specs : k => merge({
    statistic  = "Sum"
    periods    = 1
    period     = 300
    comparison = "GreaterThanThreshold"
    threshold  = 0
    missing    = "notBreaching"
  }, a) } : {}
}

# CloudWatch publishes to an encrypted topic only with a key whose policy lets
# cloudwatch.amazonaws.com use it. The AWS-managed alias/aws/sns never can (its policy cannot
# change), so without kms_key_arn the topic is not encrypted: it carries alarm names and states.
resource "aws_sns_topic" "alarms" {
  # checkov:skip=CKV_AWS_26: Encrypted with kms_key_arn when given. Otherwise unencrypted on purpose: CloudWatch cannot publish to a topic under alias/aws/sns, and the notes carry only alarm names and states.
  count             = var.create_alarms && var.alarm_email != null ? 1 : 0
  name              = "${local.name}-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alarms" {
  count     = length(aws_sns_topic.alarms)
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
  period              = each.value.period
  evaluation_periods  = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison
  treat_missing_data  = each.value.missing
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags

  depends_on = [aws_lambda_function.this, aws_sqs_queue.failed_events]
}

resource "aws_cloudwatch_dashboard" "this" {
  count          = var.create_dashboard ? 1 : 0
  dashboard_name = local.name
  dashboard_body = jsonencode({
    widgets = concat([for i, w in [
      { title = "Records changed and in sync", metrics = ["RecordsChanged", "RecordsInSync"], stat = "Sum" },
      { title = "Open incidents", metrics = ["IncidentsOpen"], stat = "Maximum" },
      { title = "Failures and problems", metrics = ["Failures", "Problems", "StartupFailures"], stat = "Sum" },
      { title = "Webhook failures", metrics = ["WebhookFailures", "WebhookUnavailable", "IncidentStoreFailures"], stat = "Sum" },
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
        title  = "Invocations, throttles and duration"
        region = local.region
        stat   = "Sum"
        period = 300
        metrics = [
          ["AWS/Lambda", "Invocations", "FunctionName", local.name],
          ["AWS/Lambda", "Throttles", "FunctionName", local.name],
          ["AWS/Lambda", "Duration", "FunctionName", local.name, { stat = "Average", yAxis = "right" }],
        ]
      }
    }])
  })
}
