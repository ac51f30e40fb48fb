# The dynamic-dns-updater stack: one Lambda function, the two EventBridge rules that wake it
# (a schedule and EC2 state changes), its log group, a least-privilege role, a queue for events
# that failed every retry, and alarms. No provider block: region and credentials come from the
# caller (the usual AWS_* variables, a profile, or the parent module's provider).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# Fleet mode scopes record names to each zone's apex and subdomains, so it needs the zones' names.
data "aws_route53_zone" "discovery" {
  for_each = toset(local.discovery_zone_ids)
  zone_id  = each.value
}

locals {
  name      = var.name_prefix
  region    = data.aws_region.current.id
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  fleet     = var.tag_key != null

  # Names and ARNs are built here rather than read back from the resources, so that a plan
  # shows the whole IAM policy instead of "(known after apply)".
  log_group_name   = "/aws/lambda/${local.name}"
  log_group_arn    = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.log_group_name}"
  queue_name       = "${local.name}-failed-events"
  queue_arn        = "arn:${local.partition}:sqs:${local.region}:${local.account}:${local.queue_name}"
  url_parameter    = "/${local.name}/webhook-url"
  secret_parameter = "/${local.name}/webhook-secret"
  parameter_arn    = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter"

  # The simple trio becomes ordinary mappings: one instance follows every name, or several pair
  # with the names in order (variables.tf checks the counts).
  trio_records = [for i, n in var.record_names : {
    instance_id = length(var.instance_ids) == 1 ? var.instance_ids[0] : var.instance_ids[i]
    zone_id     = var.zone_id
    name        = n
    ttl         = null
    types       = null
  }]

  # Normalised as the function normalises them: zone ids without /hostedzone/, names in lower
  # case without the trailing dot, a wildcard as "*".
  records = [for r in concat(var.records, local.trio_records) : {
    instance_id = r.instance_id
    zone_id     = trimprefix(r.zone_id, "/hostedzone/")
    name        = lower(trimsuffix(replace(r.name, "\\052", "*"), "."))
    ttl         = r.ttl
    types       = r.types == null ? ["A"] : distinct(r.types)
  }]

  record_keys        = flatten([for r in local.records : [for t in r.types : "${r.zone_id} ${r.name} ${t}"]])
  record_zone_ids    = distinct([for r in local.records : r.zone_id])
  discovery_zone_ids = distinct([for z in var.discovery_zone_ids : trimprefix(z, "/hostedzone/")])
  instance_ids       = sort(distinct([for r in local.records : r.instance_id]))

  ddns_records = jsonencode([for r in local.records : merge(
    { instance_id = r.instance_id, zone_id = r.zone_id, name = r.name, types = r.types },
    r.ttl == null ? {} : { ttl = r.ttl },
  )])

  # Whether a webhook is set is not a secret, only its value is; count needs a plain value.
  webhook_enabled = nonsensitive(var.webhook_url != null)
  secret_enabled  = nonsensitive(var.webhook_secret != null)

  environment = merge(
    {
      DDNS_TTL      = tostring(var.ttl)
      DDNS_ON_STOP  = var.on_stop
      DDNS_OWNER_ID = coalesce(var.owner_id, local.name)
      RUST_LOG      = var.log_level
    },
    length(local.records) > 0 ? { DDNS_RECORDS = local.ddns_records } : {},
    local.webhook_enabled ? { DDNS_WEBHOOK_URL_PARAMETER = aws_ssm_parameter.webhook_url[0].name } : {},
    local.secret_enabled ? { DDNS_WEBHOOK_SECRET_PARAMETER = aws_ssm_parameter.webhook_secret[0].name } : {},
    var.webhook_format != null ? { DDNS_WEBHOOK_FORMAT = var.webhook_format } : {},
    local.fleet ? {
      DDNS_TAG_KEY   = var.tag_key
      DDNS_ZONES     = join(",", local.discovery_zone_ids)
      DDNS_TAG_TYPES = join(",", var.discovery_record_types)
    } : {},
  )
}

# ---------------------------------------------------------------------------------------------
# Logs: the group exists before the function, so Lambda never creates an unmanaged one with
# infinite retention on the first invocation.
# ---------------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "this" {
  # checkov:skip=CKV_AWS_338: Logs are per-invocation summaries; 1 day is the documented default (as in the original deployment) and log_retention_days raises it.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# ---------------------------------------------------------------------------------------------
# Webhook settings: SecureString parameters written through write-only arguments, so the values
# reach neither state nor plan. The function receives only the parameter names.
# ---------------------------------------------------------------------------------------------

resource "aws_ssm_parameter" "webhook_url" {
  count            = local.webhook_enabled ? 1 : 0
  name             = local.url_parameter
  description      = "Webhook URL of ${local.name} (read at cold start)"
  type             = "SecureString"
  key_id           = var.kms_key_arn
  value_wo         = var.webhook_url
  value_wo_version = var.webhook_version
  tags             = var.tags
}

resource "aws_ssm_parameter" "webhook_secret" {
  count            = local.secret_enabled ? 1 : 0
  name             = local.secret_parameter
  description      = "HMAC secret with which ${local.name} signs webhook bodies"
  type             = "SecureString"
  key_id           = var.kms_key_arn
  value_wo         = var.webhook_secret
  value_wo_version = var.webhook_version
  tags             = var.tags
}

# ---------------------------------------------------------------------------------------------
# IAM: exactly what the function calls, on exactly its own resources.
# ---------------------------------------------------------------------------------------------

locals {
  zone_arn = "arn:${local.partition}:route53:::hostedzone"

  # IAM compares names in Route53's normalised form: lower case, no trailing dot, and any
  # character other than a-z 0-9 - _ . as a backslash and three octal digits (so * is \052).
  # Beside each name the function keeps a TXT ownership marker, "_ddns-owner.<name>".
  iam_record_names = distinct(flatten([for r in local.records : [
    replace(r.name, "*", "\\052"),
    "_ddns-owner.${replace(r.name, "*", "\\052")}",
  ]]))
  iam_record_types = sort(distinct(concat(flatten([for r in local.records : r.types]), ["TXT"])))

  # CREATE for new records and markers, UPSERT to move them, DELETE when an instance stops
  # (on_stop = "delete"), terminates, or loses an address family.
  record_actions = ["CREATE", "DELETE", "UPSERT"]

  discovery_zone_names = [for z in local.discovery_zone_ids : lower(trimsuffix(data.aws_route53_zone.discovery[z].name, "."))]

  policy_statements = concat(
    [
      {
        Sid      = "FindInstanceAddresses"
        Effect   = "Allow"
        Action   = ["ec2:DescribeInstances"]
        Resource = ["*"] # DescribeInstances supports no resource-level scope.
      },
      {
        Sid      = "ReadZones"
        Effect   = "Allow"
        Action   = ["route53:GetHostedZone", "route53:ListResourceRecordSets"]
        Resource = [for z in distinct(concat(local.record_zone_ids, local.discovery_zone_ids)) : "${local.zone_arn}/${z}"]
      },
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${local.log_group_arn}:*"]
      },
      {
        Sid      = "SendFailedEvents"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.queue_arn]
      },
    ],
    length(local.records) == 0 ? [] : [
      {
        Sid      = "ChangeManagedRecords"
        Effect   = "Allow"
        Action   = ["route53:ChangeResourceRecordSets"]
        Resource = [for z in local.record_zone_ids : "${local.zone_arn}/${z}"]
        Condition = {
          "ForAllValues:StringEquals" = {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames" = local.iam_record_names
            "route53:ChangeResourceRecordSetsRecordTypes"           = local.iam_record_types
            "route53:ChangeResourceRecordSetsActions"               = local.record_actions
          }
        }
      },
    ],
    # Fleet mode: names come from tags at run time, so they cannot be listed here. They are held
    # to the allowed zones' apex and subdomains instead.
    local.fleet ? [
      {
        Sid      = "ChangeTaggedRecords"
        Effect   = "Allow"
        Action   = ["route53:ChangeResourceRecordSets"]
        Resource = [for z in local.discovery_zone_ids : "${local.zone_arn}/${z}"]
        Condition = {
          "ForAllValues:StringLike" = {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames" = flatten([for n in local.discovery_zone_names : [n, "*.${n}"]])
          }
          "ForAllValues:StringEquals" = {
            "route53:ChangeResourceRecordSetsRecordTypes" = sort(distinct(concat(var.discovery_record_types, ["TXT"])))
            "route53:ChangeResourceRecordSetsActions"     = local.record_actions
          }
        }
      },
    ] : [],
    local.webhook_enabled ? [
      {
        Sid      = "ReadWebhookSettings"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = concat(["${local.parameter_arn}${local.url_parameter}"], local.secret_enabled ? ["${local.parameter_arn}${local.secret_parameter}"] : [])
      },
    ] : [],
    var.kms_key_arn == null ? [] : [
      {
        Sid      = "DecryptWithCustomerKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      },
    ],
  )
}

resource "aws_iam_role" "this" {
  name        = "${local.name}-${local.region}"
  description = "Execution role of the ${local.name} Lambda function"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.policy_statements })
}

# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_117: The function calls only public AWS APIs and an optional https webhook; a VPC would add a NAT gateway or endpoints and cold-start time, and protect nothing.
  # checkov:skip=CKV_AWS_272: The zip is built locally by build.sh from this repository; there is no signing profile to check it against.
  # checkov:skip=CKV_AWS_50: The function emits no X-Ray segments; one structured summary line per invocation is its trace.
  # checkov:skip=CKV_AWS_116: Failed asynchronous events go to an SQS on-failure destination (aws_lambda_function_event_invoke_config), which records more than a dead-letter queue.
  function_name                  = local.name
  description                    = "Keeps Route53 records pointed at EC2 instances' public addresses"
  role                           = aws_iam_role.this.arn
  filename                       = var.zip_path
  source_code_hash               = filebase64sha256(var.zip_path)
  handler                        = "bootstrap"
  runtime                        = "provided.al2023"
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = coalesce(var.reserved_concurrency, -1)
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
    # RUST_LOG decides what the function logs; Lambda's own level filter lets it all through.
    application_log_level = "TRACE"
    system_log_level      = "INFO"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.records) > 0 || local.fleet
      error_message = "Nothing to keep up to date: give records, or instance_ids + zone_id + record_names, or tag_key (fleet mode)."
    }
    precondition {
      condition     = length(distinct(local.record_keys)) == length(local.record_keys)
      error_message = "A record (zone, name, type) appears twice: one record can follow only one instance. Check records and record_names for duplicates."
    }
    precondition {
      # Lambda allows 4 KB of environment in all; DDNS_RECORDS takes most of it.
      condition     = length(jsonencode(local.environment)) < 4000
      error_message = "Too many records for one function's 4 KB environment. Split them across two copies of the module (each with its own name_prefix), or use fleet mode (tag_key)."
    }
  }

  # The role's permissions and the log group must exist before the first invocation.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# ---------------------------------------------------------------------------------------------
# Triggers
# ---------------------------------------------------------------------------------------------

locals {
  state_change_pattern = {
    source        = ["aws.ec2"]
    "detail-type" = ["EC2 Instance State-change Notification"]
    # In fleet mode any instance may carry the tag, so every instance's changes are of interest.
    detail = merge(
      { state = ["running", "stopped", "terminated"] },
      local.fleet ? {} : { "instance-id" = local.instance_ids },
    )
  }

  rules = merge(
    {
      schedule = {
        name                = "${local.name}-schedule"
        description         = "Reconciles every record of ${local.name}, in case an event was missed"
        schedule_expression = var.schedule_expression
        event_pattern       = null
      }
      state_change = {
        name                = "${local.name}-ec2-state"
        description         = "Wakes ${local.name} when a followed instance starts, stops or terminates"
        schedule_expression = null
        event_pattern       = jsonencode(local.state_change_pattern)
      }
    },
    local.fleet ? {
      tag_change = {
        name                = "${local.name}-tag-change"
        description         = "Wakes ${local.name} when the ${var.tag_key} tag of an instance changes"
        schedule_expression = null
        event_pattern = jsonencode({
          source        = ["aws.tag"]
          "detail-type" = ["Tag Change on Resource"]
          detail = {
            service            = ["ec2"]
            "resource-type"    = ["instance"]
            "changed-tag-keys" = [var.tag_key]
          }
        })
      }
    } : {},
  )
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each            = local.rules
  name                = each.value.name
  description         = each.value.description
  schedule_expression = each.value.schedule_expression
  event_pattern       = each.value.event_pattern
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each  = local.rules
  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "lambda"
  arn       = aws_lambda_function.this.arn
}

resource "aws_lambda_permission" "this" {
  for_each      = local.rules
  statement_id  = "events-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

# ---------------------------------------------------------------------------------------------
# Failures: bounded retries, then the event lands in a queue where it can be read; alarms on
# function errors and on that queue.
# ---------------------------------------------------------------------------------------------

resource "aws_sqs_queue" "failed_events" {
  name                      = local.queue_name
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_lambda_function_event_invoke_config" "this" {
  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.max_retry_attempts
  maximum_event_age_in_seconds = var.max_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failed_events.arn
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.name}-errors"
  alarm_description   = "${local.name} failed at least once in 5 minutes. Read: aws logs tail ${aws_cloudwatch_log_group.this.name} --since 1h"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
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

resource "aws_cloudwatch_metric_alarm" "failed_events" {
  alarm_name          = "${local.name}-failed-events"
  alarm_description   = "An event for ${local.name} failed every retry and waits in the ${aws_sqs_queue.failed_events.name} queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failed_events.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
