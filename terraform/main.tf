# The dynamic-dns-updater stack: one Lambda function, the EventBridge rules that wake it (a
# schedule, EC2 state changes, address API calls, Spot interruption warnings and, in fleet mode
# or with groups, tag changes), its log group, a failure queue, and the resource that releases
# its DNS records when the stack is destroyed. IAM is in iam.tf, alarms and the dashboard in
# monitoring.tf. No provider block: region and credentials come from the caller (the usual AWS_*
# variables, a profile, or the parent module's provider).

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# The zones' names: to check that every record lies in its zone, and to scope the fleet's IAM
# statement to the allowed zones' subdomains. Zones in a DNS account (route53_role_arn) cannot
# be read from here: the function makes those checks at start-up.
data "aws_route53_zone" "this" {
  for_each = local.zones_elsewhere ? toset([]) : toset(local.all_zone_ids)
  zone_id  = each.value
}

locals {
  name      = coalesce(var.function_name, var.name_prefix)
  region    = data.aws_region.current.id
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  # Fleet mode or groups: instances opt in with a tag, so the function's names and instances are
  # known only at run time, and every instance's events are of interest.
  fleet    = var.tag_key != null || var.group_tag_key != null
  tag_keys = compact([var.tag_key, var.group_tag_key])

  # Names and ARNs are built here rather than read back from the resources, so that a plan
  # shows the whole IAM policy instead of "(known after apply)".
  log_group_name      = "/aws/lambda/${local.name}"
  log_group_arn       = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:${local.log_group_name}"
  queue_name          = "${local.name}-failed-events"
  queue_arn           = "arn:${local.partition}:sqs:${local.region}:${local.account}:${local.queue_name}"
  url_parameter       = "/${local.name}/webhook-url"
  secret_parameter    = "/${local.name}/webhook-secret"
  incidents_parameter = "/dynamic-dns-updater/${local.name}/incidents"
  parameter_arn       = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter"
  # What the provider is handed for a webhook value this run does not give (see below). Should
  # it ever be written, the function refuses it at start-up (src/ssm.rs, STAND_IN), and says
  # which parameter it is.
  value_kept = "not given: set webhook_url (webhook_secret) when this parameter is created or webhook_version (webhook_secret_version) is raised"

  # The simple trio becomes ordinary mappings: one instance follows every name, or several pair
  # with the names in order (variables.tf checks the counts).
  trio_records = [for i, n in var.record_names : {
    instance_id  = length(var.instance_ids) == 1 ? var.instance_ids[0] : var.instance_ids[i]
    instance_ids = null
    zone_id      = var.zone_id
    name         = n
    ttl          = null
    types        = null
    address      = null
  }]

  # Normalised as the function normalises them: zone ids without /hostedzone/, names in lower
  # case without the trailing dot, a wildcard as "*". A mapping follows one instance
  # (instance_id) or is a static group (instance_ids); members lists them either way.
  records = [for r in concat(var.records, local.trio_records) : {
    instance_id  = r.instance_id
    instance_ids = r.instance_ids == null ? null : distinct(r.instance_ids)
    members      = r.instance_ids == null ? [r.instance_id] : distinct(r.instance_ids)
    zone_id      = trimprefix(r.zone_id, "/hostedzone/")
    name         = lower(trimsuffix(replace(r.name, "\\052", "*"), "."))
    ttl          = r.ttl
    types        = r.types == null ? ["A"] : distinct(r.types)
    address      = r.address
    # An instance in a target account and region (organization.tf); the simple trio has none.
    account_id = try(r.account_id, null)
    region     = try(r.region, null)
  }]

  record_keys        = flatten([for r in local.records : [for t in r.types : "${r.zone_id} ${r.name} ${t}"]])
  record_zone_ids    = distinct([for r in local.records : r.zone_id])
  discovery_zone_ids = distinct([for z in var.discovery_zone_ids : trimprefix(z, "/hostedzone/")])
  all_zone_ids       = distinct(concat(local.record_zone_ids, local.discovery_zone_ids))
  instance_ids       = sort(distinct(flatten([for r in local.records : r.members])))
  zone_names         = { for id, z in data.aws_route53_zone.this : id => lower(trimsuffix(z.name, ".")) }
  tag_suffixes       = [for s in var.tag_suffixes : lower(trimsuffix(s, "."))]

  # Split-horizon: one public and one private zone may share a domain; two of one type may not
  # (the function would not know which to write, and refuses to start). A zone whose type the
  # provider does not report is left to the function's own check.
  zone_kinds = { for id in local.discovery_zone_ids : (
    try(data.aws_route53_zone.this[id].private_zone, null) == null ? id :
    "${local.zone_names[id]} (${data.aws_route53_zone.this[id].private_zone ? "private" : "public"})"
  ) => id... }
  same_kind = [for kind, ids in local.zone_kinds : "${kind}: ${join(" and ", ids)}" if length(ids) > 1]

  # Records whose name is not in the zone they are listed under: every write to them would fail.
  misplaced = local.zones_elsewhere ? [] : [for r in local.records : "${r.name} (zone ${r.zone_id} is ${local.zone_names[r.zone_id]})"
  if r.name != local.zone_names[r.zone_id] && !endswith(r.name, ".${local.zone_names[r.zone_id]}")]

  ddns_records = jsonencode([for r in local.records : merge(
    r.instance_id == null ? {} : { instance_id = r.instance_id },
    r.instance_ids == null ? {} : { instance_ids = r.instance_ids },
    { zone_id = r.zone_id, name = r.name, types = r.types },
    r.ttl == null ? {} : { ttl = r.ttl },
    r.address == null ? {} : { address = r.address },
    r.account_id == null ? {} : { account_id = r.account_id, region = r.region },
  )])

  environment = merge(
    {
      DDNS_TTL      = tostring(var.ttl)
      DDNS_ON_STOP  = var.on_stop
      DDNS_TIMEOUT  = tostring(var.timeout)
      DDNS_OWNER_ID = coalesce(var.owner_id, "${local.name}.${local.region}.${local.account}")
      RUST_LOG      = var.log_level
    },
    # Earlier versions of this module wrote markers under the name prefix: they are taken over.
    var.owner_id == null ? { DDNS_LEGACY_OWNER_ID = local.name } : {},
    length(local.records) > 0 ? { DDNS_RECORDS = local.ddns_records } : {},
    var.webhook_enabled ? {
      DDNS_WEBHOOK_URL_PARAMETER = local.url_parameter
      DDNS_INCIDENTS_PARAMETER   = local.incidents_parameter
      DDNS_ALERT_REPEAT          = var.alert_repeat
    } : {},
    var.webhook_signed ? { DDNS_WEBHOOK_SECRET_PARAMETER = local.secret_parameter } : {},
    var.webhook_format != null ? { DDNS_WEBHOOK_FORMAT = var.webhook_format } : {},
    # The function's own defaults are left unset: all alerts, 8 addresses a group.
    var.alert_on != "all" ? { DDNS_ALERT_ON = var.alert_on } : {},
    var.group_max != 8 ? { DDNS_GROUP_MAX = tostring(var.group_max) } : {},
    var.tag_key != null ? { DDNS_TAG_KEY = var.tag_key } : {},
    var.group_tag_key != null ? { DDNS_GROUP_TAG_KEY = var.group_tag_key } : {},
    local.fleet ? {
      DDNS_ZONES       = join(",", local.discovery_zone_ids)
      DDNS_TAG_TYPES   = join(",", var.discovery_record_types)
      DDNS_TAG_ADDRESS = var.tag_address
    } : {},
    local.fleet && length(local.tag_suffixes) > 0 ? { DDNS_TAG_SUFFIXES = join(",", local.tag_suffixes) } : {},
    local.fleet && var.tag_allow_wildcards ? { DDNS_TAG_ALLOW_WILDCARDS = "true" } : {},
    local.organization_environment, # DDNS_TARGETS, DDNS_ROUTE53_ROLE_ARN (organization.tf)
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
# Webhook settings: SecureString parameters written through write-only arguments from
# ephemeral inputs, so the values reach no state, plan or variables file. The function
# receives only the parameter names. A write-only value is written only when its parameter is
# created or its version changes (webhook_version, webhook_secret_version); a run that changes
# neither need not give it, and the provider is handed a stand-in that is never written.
# ---------------------------------------------------------------------------------------------

resource "aws_ssm_parameter" "webhook_url" {
  count            = var.webhook_enabled ? 1 : 0
  name             = local.url_parameter
  description      = "Webhook URL of ${local.name} (read at cold start)"
  type             = "SecureString"
  key_id           = var.kms_key_arn
  value_wo         = coalesce(var.webhook_url, local.value_kept)
  value_wo_version = var.webhook_version
  tags             = var.tags
}

resource "aws_ssm_parameter" "webhook_secret" {
  count            = var.webhook_signed ? 1 : 0
  name             = local.secret_parameter
  description      = "HMAC secret with which ${local.name} signs webhook bodies"
  type             = "SecureString"
  key_id           = var.kms_key_arn
  value_wo         = coalesce(var.webhook_secret, local.value_kept)
  value_wo_version = var.webhook_secret_version
  tags             = var.tags
}

# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_117: The function calls only public AWS APIs and an optional https webhook; a VPC would add a NAT gateway or endpoints and cold-start time, and protect nothing.
  # checkov:skip=CKV_AWS_272: The zip is built locally by build.sh from this repository; there is no signing profile to check it against.
  # checkov:skip=CKV_AWS_50: The function emits no X-Ray segments; one structured summary line per invocation is its trace.
  # checkov:skip=CKV_AWS_116: Failed asynchronous events go to an SQS on-failure destination (aws_lambda_function_event_invoke_config), which records more than a dead-letter queue.
  # checkov:skip=CKV_AWS_115: Reserved concurrency is a variable, off by default: accounts at the default quota of 10 cannot reserve any (reserved_concurrency).
  # checkov:skip=CKV_AWS_173: The environment holds no secret (the webhook's are SSM parameter names); kms_key_arn encrypts it with a customer key when given.
  function_name                  = local.name
  description                    = "Keeps Route53 records pointed at EC2 instances' addresses"
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
      # Lambda allows 4 KB of environment in all; DDNS_RECORDS takes most of it.
      condition     = length(jsonencode(local.environment)) < 4000
      error_message = "Too many records for one function's 4 KB environment. Split them across two copies of the module (each with its own function_name), or use fleet mode (tag_key) or groups (group_tag_key)."
    }
  }

  # The role's permissions and the log group must exist before the first invocation.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}

# ---------------------------------------------------------------------------------------------
# Refusals of settings that are valid one by one but not together. One object per rule, so that
# the plan's error, and a test's expect_failures, name the rule that failed. They hold nothing.
# ---------------------------------------------------------------------------------------------

resource "terraform_data" "something_to_follow" {
  lifecycle {
    precondition {
      condition     = length(local.records) > 0 || local.fleet
      error_message = "Nothing to keep up to date: give records, or instance_ids + zone_id + record_names, or tag_key (fleet mode), or group_tag_key (groups)."
    }
  }
}

resource "terraform_data" "one_instance_per_record" {
  lifecycle {
    precondition {
      condition     = length(distinct(local.record_keys)) == length(local.record_keys)
      error_message = "A record (zone, name, type) appears twice: one record comes from only one mapping (one instance_id, or one static group's instance_ids). Check records and record_names for duplicates."
    }
  }
}

resource "terraform_data" "records_inside_their_zones" {
  lifecycle {
    precondition {
      condition     = length(local.misplaced) == 0
      error_message = "These record names are not inside the hosted zone they are listed under, so every write to them would fail: ${join(", ", local.misplaced)}."
    }
  }
}

resource "terraform_data" "one_zone_per_domain_and_type" {
  lifecycle {
    precondition {
      condition     = length(local.same_kind) == 0
      error_message = "discovery_zone_ids holds two zones of the same domain and the same type, so the function would not know which to write: ${join("; ", local.same_kind)}. A domain may have one public and one private zone (split-horizon)."
    }
  }
}

resource "terraform_data" "suffixes_inside_the_zones" {
  lifecycle {
    precondition {
      condition     = local.zones_elsewhere ? true : alltrue([for s in local.tag_suffixes : anytrue([for z in local.discovery_zone_ids : s == local.zone_names[z] || endswith(s, ".${local.zone_names[z]}")])])
      error_message = "Every tag_suffixes entry must lie within one of discovery_zone_ids' zones (${join(", ", [for z in local.discovery_zone_ids : lookup(local.zone_names, z, z)])})."
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Triggers
# ---------------------------------------------------------------------------------------------

locals {
  state_change_pattern = {
    source        = ["aws.ec2"]
    "detail-type" = ["EC2 Instance State-change Notification"]
    # In fleet mode or with groups any instance may carry a tag, so every instance's changes are
    # of interest.
    detail = merge(
      # stopping and shutting-down: the records go while the instance still holds its address.
      { state = ["running", "stopping", "stopped", "shutting-down", "terminated"] },
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
    # An address that changes while the instance runs. CloudTrail events reach EventBridge only
    # from an account with a trail recording management events, best effort: the schedule stays
    # the safety net. The call may name a network interface or an association instead of the
    # instance, so the pattern cannot list instances; the function ignores the others.
    var.ddns_api_call_events ? {
      api_call = {
        name                = "${local.name}-ec2-address"
        description         = "Wakes ${local.name} when an Elastic IP or IPv6 address is associated with or removed from an instance"
        schedule_expression = null
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
        name                = "${local.name}-spot-warning"
        description         = "Wakes ${local.name} two minutes before EC2 interrupts a followed Spot instance"
        schedule_expression = null
        event_pattern = jsonencode(merge(
          { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] },
          local.fleet ? {} : { detail = { "instance-id" = local.instance_ids } },
        ))
      }
    } : {},
    local.fleet ? {
      tag_change = {
        name                = "${local.name}-tag-change"
        description         = "Wakes ${local.name} when the ${join(" or ", local.tag_keys)} tag of an instance changes"
        schedule_expression = null
        event_pattern = jsonencode({
          source        = ["aws.tag"]
          "detail-type" = ["Tag Change on Resource"]
          detail = {
            service            = ["ec2"]
            "resource-type"    = ["instance"]
            "changed-tag-keys" = local.tag_keys
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

# The targets and the permissions depend on the release (below), so that a destroy removes them
# first: once the release starts, no rule can invoke the function again.
resource "aws_cloudwatch_event_target" "this" {
  for_each  = local.rules
  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "lambda"
  arn       = aws_lambda_function.this.arn

  depends_on = [aws_lambda_invocation.release]
}

resource "aws_lambda_permission" "this" {
  for_each      = local.rules
  statement_id  = "events-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn

  depends_on = [aws_lambda_invocation.release]
}

# ---------------------------------------------------------------------------------------------
# Failures: bounded retries of events, then the event lands in a queue where it can be read.
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

# ---------------------------------------------------------------------------------------------
# Teardown: Terraform manages no DNS record, so a destroy alone would leave the records and
# their markers pointing at addresses the instances may no longer hold. Destroying this
# resource invokes the function with Terraform's lifecycle key tf.action = "delete", which it
# answers with a release; creating or updating it ("create", "update") changes nothing. If the
# release fails, the destroy stops.
#
# Only a destroy of the whole stack may destroy this resource, so:
# - it always exists, and release_on_destroy rides in its input. When false, the input pins
#   tf.action to "update" and Terraform's own key moves to "terraform": every invocation, the
#   destroy's included, then reads to the function as a deploy, and changes nothing. Switching
#   either way is an update, never a release.
# - the function's name (the only argument that would replace it) cannot change: renaming a
#   live stack would release every record and hand the zones to a new owner id. The plan stops
#   instead (the postcondition below).
# - the event targets and permissions depend on it, so a destroy removes them before it, and
#   nothing can invoke the function once the release starts. An invocation that started before
#   may still be running: terraform/README.md (Teardown) says what that leaves.
# ---------------------------------------------------------------------------------------------

resource "aws_lambda_invocation" "release" {
  function_name   = aws_lambda_function.this.function_name
  input           = var.release_on_destroy ? jsonencode({ action = "release" }) : jsonencode({ action = "release", tf = { action = "update" } })
  terraform_key   = var.release_on_destroy ? "tf" : "terraform"
  lifecycle_scope = "CRUD"

  # The release needs the function's permissions and its configuration as they are. All but the
  # triggers go after it, so a failed release stops a destroy with the stack whole but for its
  # targets and permissions, which the next apply puts back.
  depends_on = [
    aws_iam_role_policy.this, aws_lambda_function.this, aws_lambda_function_event_invoke_config.this,
    aws_cloudwatch_event_rule.this, aws_sqs_queue.failed_events, aws_ssm_parameter.webhook_url,
    aws_ssm_parameter.webhook_secret, aws_cloudwatch_metric_alarm.this, aws_sns_topic_subscription.alarms,
    aws_cloudwatch_dashboard.this,
    # organization.tf: the members' bus, its policy, rules and alarms
    aws_cloudwatch_event_bus_policy.members, aws_cloudwatch_event_permission.members, aws_cloudwatch_event_rule.members,
    aws_cloudwatch_metric_alarm.members,
  ]

  lifecycle {
    ignore_changes = [function_name]
    postcondition {
      condition     = self.function_name == local.name
      error_message = "This stack's function is ${self.function_name}; function_name (or name_prefix) now says ${local.name}. A deployed stack cannot be renamed: it would release every DNS record, and the new function would find them owned by another. Put the old name back, or destroy the stack (which releases the records) and deploy again under the new name."
    }
  }
}

moved {
  from = aws_lambda_invocation.release[0]
  to   = aws_lambda_invocation.release
}

# ---------------------------------------------------------------------------------------------
# What already exists under this stack's names without being in its state (deploy.sh reads
# these from the plan and stops with the import commands instead of half-applying).
# ---------------------------------------------------------------------------------------------

data "aws_lambda_functions" "existing" {
  count = var.detect_existing ? 1 : 0
}

data "aws_iam_roles" "existing" {
  count      = var.detect_existing ? 1 : 0
  name_regex = "^${local.name}-${local.region}$"
}

data "aws_cloudwatch_log_groups" "existing" {
  count                 = var.detect_existing ? 1 : 0
  log_group_name_prefix = local.log_group_name
}
