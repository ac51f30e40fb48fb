# Plan-level tests of the module, offline: the AWS provider is mocked. They check the inputs'
# validations and preconditions, the normalisation of record names, the IAM policy built from
# them, and what the monitoring creates. The apply against an AWS emulator, and the check of the
# function's real batches against the rendered policy, live in tests/ (deploy/run.sh, iam.rs).

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { id = "us-east-1", name = "us-east-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_route53_zone" {
    defaults = { name = "Example.com." }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/dynamic-dns-updater" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:dynamic-dns-updater-failed-events" }
  }
  mock_resource "aws_ssm_parameter" {
    defaults = { arn = "arn:aws:ssm:us-east-1:123456789012:parameter/dynamic-dns-updater/webhook" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/dynamic-dns-updater-us-east-1" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:dynamic-dns-updater" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:dynamic-dns-updater-alarms" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/dynamic-dns-updater" }
  }
}

# The ephemeral webhook inputs are given a value in every run: terraform test before 1.17
# refuses to apply a run that leaves an optional ephemeral input unset (hashicorp/terraform
# issue 38974). Without webhook_enabled they create nothing.
variables {
  zip_path       = "tests/fixtures/stand-in.zip"
  webhook_url    = "https://hooks.example.net/unused"
  webhook_secret = "unused-0123456789abcdef"
}

run "records_and_trio_are_normalised_into_DDNS_RECORDS" {
  command = apply

  variables {
    records = [
      { instance_id = "i-0123456789abcdef0", zone_id = "/hostedzone/ZONEA1", name = "*.Example.COM.", types = ["A", "AAAA"], ttl = 30 },
    ]
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEB2"
    record_names = ["App.Example.org", "www.example.org."]
  }

  override_data {
    target = data.aws_route53_zone.this["ZONEB2"]
    values = { name = "example.org." }
  }

  assert {
    condition = jsondecode(aws_lambda_function.this.environment[0].variables.DDNS_RECORDS) == [
      { instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "*.example.com", types = ["A", "AAAA"], ttl = 30 },
      { instance_id = "i-12345678", zone_id = "ZONEB2", name = "app.example.org", types = ["A"] },
      { instance_id = "i-12345678", zone_id = "ZONEB2", name = "www.example.org", types = ["A"] },
    ]
    error_message = "DDNS_RECORDS does not hold the normalised mappings: ${aws_lambda_function.this.environment[0].variables.DDNS_RECORDS}"
  }
  assert {
    condition     = aws_lambda_function.this.runtime == "provided.al2023" && aws_lambda_function.this.handler == "bootstrap" && one(aws_lambda_function.this.architectures) == "arm64"
    error_message = "The function must run bootstrap on provided.al2023, arm64."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_WEBHOOK_URL_PARAMETER")
    error_message = "Without a webhook, the function must get no webhook parameter."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_OWNER_ID == "dynamic-dns-updater.us-east-1.123456789012" &&
      aws_lambda_function.this.environment[0].variables.DDNS_LEGACY_OWNER_ID == "dynamic-dns-updater" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TIMEOUT == "30"
    )
    error_message = "The default owner must be unique per deployment (name, region, account), taking over the old default's markers."
  }
  assert {
    condition = (
      jsondecode(aws_lambda_invocation.release.input) == { action = "release" } &&
      aws_lambda_invocation.release.terraform_key == "tf" && aws_lambda_invocation.release.lifecycle_scope == "CRUD"
    )
    error_message = "Destroying the stack must invoke the release, with Terraform's lifecycle key as tf."
  }
}

# What a plan may do to a live stack: never destroy the release resource, the one way to run a
# release. (That each input change plans no release is checked against an emulator, where the
# provider decides replacements: tests/deploy/run.sh.)

run "renaming_a_deployed_stack_is_refused" {
  command = plan

  variables {
    records       = [{ instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "app.example.com" }]
    function_name = "renamed"
  }

  expect_failures = [aws_lambda_invocation.release]
}

run "renaming_through_the_old_name_prefix_is_refused_too" {
  command = plan

  variables {
    records     = [{ instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "app.example.com" }]
    name_prefix = "renamed"
  }

  expect_failures = [aws_lambda_invocation.release]
}

run "release_off_is_carried_in_the_input_and_the_resource_stays" {
  command = apply

  variables {
    records            = [{ instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "app.example.com" }]
    release_on_destroy = false
  }

  assert {
    # The destroy's invocation then carries tf.action = "update" (a deploy, to the function)
    # and Terraform's own "delete" under another key.
    condition = (
      jsondecode(aws_lambda_invocation.release.input) == { action = "release", tf = { action = "update" } } &&
      aws_lambda_invocation.release.terraform_key == "terraform" && aws_lambda_invocation.release.lifecycle_scope == "CRUD"
    )
    error_message = "With release_on_destroy = false the invocation must stay, and read as a deploy to the function."
  }
}

run "function_name_names_the_function_and_everything_else" {
  command = plan

  # A stack of its own: the runs above deployed another name.
  state_key = "fresh"

  variables {
    records       = [{ instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "app.example.com" }]
    function_name = "ddns-web"
  }

  assert {
    condition = (
      aws_lambda_function.this.function_name == "ddns-web" && aws_cloudwatch_log_group.this.name == "/aws/lambda/ddns-web" &&
      aws_iam_role.this.name == "ddns-web-us-east-1" && aws_lambda_invocation.release.function_name == "ddns-web"
    )
    error_message = "function_name must name the function exactly, and its log group after it."
  }
}

run "iam_grants_only_the_managed_names_types_and_zones" {
  command = apply

  variables {
    records = [
      { instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "*.Example.COM.", types = ["AAAA"] },
      { instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "ssh.example.com" },
    ]
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "ChangeManagedRecords"]) == {
      Sid      = "ChangeManagedRecords"
      Effect   = "Allow"
      Action   = ["route53:ChangeResourceRecordSets"]
      Resource = ["arn:aws:route53:::hostedzone/ZONEA1"]
      Condition = {
        "ForAllValues:StringEquals" = {
          "route53:ChangeResourceRecordSetsNormalizedRecordNames" = ["\\052.example.com", "_ddns-owner.\\052.example.com", "ssh.example.com", "_ddns-owner.ssh.example.com"]
          "route53:ChangeResourceRecordSetsRecordTypes"           = ["A", "AAAA", "TXT"]
          "route53:ChangeResourceRecordSetsActions"               = ["CREATE", "DELETE"]
        }
      }
    }
    error_message = "The ChangeResourceRecordSets grant is not scoped as expected: ${aws_iam_role_policy.this.policy}"
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.this.policy).Statement :
    !contains(s.Resource, "*") if anytrue([for a in s.Action : startswith(a, "route53:")])])
    error_message = "No route53 action may be granted on *."
  }
}

run "on_stop_keep_reaches_the_function" {
  command = apply

  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    on_stop      = "keep"
  }

  assert {
    # A terminated instance's records and markers are deleted even with keep.
    condition     = contains(one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsActions"] if s.Sid == "ChangeManagedRecords"]), "DELETE")
    error_message = "DELETE must stay granted with on_stop = keep: terminated instances' records are removed."
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_INCIDENTS_PARAMETER")
    error_message = "Without a webhook nothing needs to survive a cold start: no incidents parameter."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.DDNS_ON_STOP == "keep"
    error_message = "DDNS_ON_STOP must follow on_stop."
  }
}

run "webhook_settings_reach_the_function_as_parameter_names_only" {
  command = apply

  variables {
    instance_ids    = ["i-12345678"]
    zone_id         = "ZONEA1"
    record_names    = ["app.example.com"]
    webhook_enabled = true
    webhook_signed  = true
    webhook_url     = "https://hooks.example.net/services/T0/B0/token"
    webhook_secret  = "0123456789abcdef0123"
    owner_id        = "team-a"
    webhook_version = 3
  }

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_WEBHOOK_URL_PARAMETER == "/dynamic-dns-updater/webhook-url" &&
      aws_lambda_function.this.environment[0].variables.DDNS_WEBHOOK_SECRET_PARAMETER == "/dynamic-dns-updater/webhook-secret" &&
      aws_ssm_parameter.webhook_url[0].type == "SecureString" && aws_ssm_parameter.webhook_secret[0].type == "SecureString"
    )
    error_message = "The webhook URL and secret must be SecureString parameters, passed by name."
  }
  assert {
    condition     = !strcontains(jsonencode(nonsensitive(aws_lambda_function.this.environment[0].variables)), "hooks.example.net")
    error_message = "The webhook URL itself must not be in the function's environment."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Action if s.Sid == "ReadWebhookSettings"]) == ["ssm:GetParameter"]
    error_message = "The function must be allowed ssm:GetParameter on its parameters."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "KeepOpenIncidents"]) == {
      Sid      = "KeepOpenIncidents"
      Effect   = "Allow"
      Action   = ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"]
      Resource = ["arn:aws:ssm:us-east-1:123456789012:parameter/dynamic-dns-updater/dynamic-dns-updater/incidents"]
    }
    error_message = "The function may keep its open incidents in exactly its own parameter."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_INCIDENTS_PARAMETER == "/dynamic-dns-updater/dynamic-dns-updater/incidents" &&
      aws_lambda_function.this.environment[0].variables.DDNS_ALERT_REPEAT == "6h" &&
      aws_lambda_function.this.environment[0].variables.DDNS_OWNER_ID == "team-a" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_LEGACY_OWNER_ID")
    )
    error_message = "The incidents parameter, the reminder interval and an explicit owner must reach the function."
  }
  assert {
    condition     = aws_ssm_parameter.webhook_url[0].value_wo_version == 3 && aws_ssm_parameter.webhook_secret[0].value_wo_version == 1
    error_message = "The URL and the secret must each be rewritten by their own version, so one can change without the other."
  }
}

run "a_customer_key_may_also_make_the_data_keys_sqs_needs" {
  command = apply

  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    kms_key_arn  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "EncryptFailedEvents"]) == {
      Sid       = "EncryptFailedEvents"
      Effect    = "Allow"
      Action    = ["kms:GenerateDataKey"]
      Resource  = ["arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
      Condition = { StringEquals = { "kms:ViaService" = "sqs.us-east-1.amazonaws.com" } }
    }
    error_message = "With a customer key, the role must be able to encrypt failed events for the queue, through SQS only."
  }
  assert {
    condition     = aws_sqs_queue.failed_events.kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "The failure queue must be encrypted with the customer key."
  }
}

run "clean_ups_are_deletes_of_addresses_and_of_markers_only" {
  command = apply

  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition if s.Sid == "DeleteReleasedAddresses"]) == {
      "ForAllValues:StringEquals" = {
        "route53:ChangeResourceRecordSetsRecordTypes" = ["A", "AAAA"]
        "route53:ChangeResourceRecordSetsActions"     = ["DELETE"]
      }
    }
    error_message = "Released addresses may only be deleted, and only A and AAAA."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition if s.Sid == "DeleteOwnMarkers"]) == {
      "ForAllValues:StringLike"   = { "route53:ChangeResourceRecordSetsNormalizedRecordNames" = ["_ddns-owner.*"] }
      "ForAllValues:StringEquals" = { "route53:ChangeResourceRecordSetsRecordTypes" = ["TXT"], "route53:ChangeResourceRecordSetsActions" = ["DELETE"] }
    }
    error_message = "Markers may only be deleted, and only TXT records under _ddns-owner."
  }
}

run "alarms_reach_an_address_and_watch_the_functions_own_metrics" {
  command = apply

  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    alarm_email  = "ops@example.com"
  }

  assert {
    condition     = aws_sns_topic_subscription.alarms[0].protocol == "email" && aws_sns_topic_subscription.alarms[0].endpoint == "ops@example.com"
    error_message = "An alarm e-mail address must get a topic and a subscription."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["failures"].metric_name == "Failures" &&
      aws_cloudwatch_metric_alarm.this["incidents"].metric_name == "IncidentsOpen" &&
      aws_cloudwatch_metric_alarm.this["startup"].metric_name == "StartupFailures" &&
      aws_cloudwatch_metric_alarm.this["failures"].namespace == "DynamicDnsUpdater"
    )
    error_message = "The alarms must watch the function's own failures, open incidents and start-up failures."
  }
  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : contains(a.alarm_actions, aws_sns_topic.alarms[0].arn)])
    error_message = "Every alarm must notify the topic."
  }
  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets) == 7
    error_message = "The dashboard must show the function's metrics."
  }
  assert {
    # CloudWatch cannot publish to a topic under the AWS-managed key: the alarms would fire
    # and nobody would hear.
    condition     = aws_sns_topic.alarms[0].kms_master_key_id != "alias/aws/sns" && aws_sns_topic.alarms[0].kms_master_key_id == null
    error_message = "Without kms_key_arn the topic must not use alias/aws/sns (CloudWatch cannot publish to it): ${coalesce(aws_sns_topic.alarms[0].kms_master_key_id, "none")}"
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["heartbeat"].namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.this["heartbeat"].metric_name == "Invocations" &&
      aws_cloudwatch_metric_alarm.this["heartbeat"].treat_missing_data == "breaching" &&
      aws_cloudwatch_metric_alarm.this["heartbeat"].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.this["heartbeat"].period == 300 &&
      aws_cloudwatch_metric_alarm.this["heartbeat"].threshold == 2
    )
    error_message = "The heartbeat must go off when fewer invocations than the schedule's arrive in 5 minutes, none at all included."
  }
  assert {
    condition = (
      sort([for a in aws_cloudwatch_metric_alarm.this : a.dimensions.RuleName if a.metric_name == "FailedInvocations"]) ==
      sort([for r in aws_cloudwatch_event_rule.this : r.name]) &&
      alltrue([for a in aws_cloudwatch_metric_alarm.this : a.namespace == "AWS/Events" if a.metric_name == "FailedInvocations"])
    )
    error_message = "Every EventBridge rule must have exactly one FailedInvocations alarm."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["throttles"].metric_name == "Throttles" &&
      aws_cloudwatch_metric_alarm.this["failed_events"].metric_name == "NumberOfMessagesSent" &&
      aws_cloudwatch_metric_alarm.this["failed_events"].statistic == "Sum"
    )
    error_message = "Throttles must be watched, and the failure queue's alarm must fire on each new message, not on its depth."
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.this), "webhook_unavailable")
    error_message = "Without a webhook there is no webhook to be unavailable."
  }
}

run "a_customer_key_encrypts_the_topic_and_a_webhook_gets_its_alarm" {
  command = plan

  variables {
    instance_ids        = ["i-12345678"]
    zone_id             = "ZONEA1"
    record_names        = ["app.example.com"]
    alarm_email         = "ops@example.com"
    kms_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    webhook_enabled     = true
    schedule_expression = "rate(10 minutes)"
  }

  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "With kms_key_arn the alarm topic must be encrypted with that key."
  }
  assert {
    condition = (
      aws_cloudwatch_metric_alarm.this["webhook_unavailable"].namespace == "DynamicDnsUpdater" &&
      aws_cloudwatch_metric_alarm.this["webhook_unavailable"].metric_name == "WebhookUnavailable" &&
      aws_cloudwatch_metric_alarm.this["webhook_unavailable"].statistic == "Sum" &&
      aws_cloudwatch_metric_alarm.this["webhook_unavailable"].dimensions.FunctionName == "dynamic-dns-updater"
    )
    error_message = "An unreadable webhook parameter must have an alarm of its own."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.this["heartbeat"].period == 600 && aws_cloudwatch_metric_alarm.this["heartbeat"].threshold == 1
    error_message = "A slower schedule stretches the heartbeat's period to its interval."
  }
}

run "alarms_and_dashboard_can_be_switched_off" {
  command = plan

  variables {
    instance_ids     = ["i-12345678"]
    zone_id          = "ZONEA1"
    record_names     = ["app.example.com"]
    alarm_email      = "ops@example.com"
    create_alarms    = false
    create_dashboard = false
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.this) == 0 && length(aws_sns_topic.alarms) == 0 && length(aws_cloudwatch_dashboard.this) == 0
    error_message = "create_alarms = false and create_dashboard = false must create no alarm, topic or dashboard."
  }
}

run "rejects_a_record_outside_its_zone" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.org"]
  }
  expect_failures = [terraform_data.records_inside_their_zones]
}

run "fleet_mode_without_suffixes_needs_the_opt_in" {
  command = plan

  variables {
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEA1"]
  }

  expect_failures = [var.tag_anywhere]
}

run "fleet_mode_adds_the_tag_rule_and_scopes_names_to_the_zones" {
  command = apply

  variables {
    tag_key                = "ddns:name"
    discovery_zone_ids     = ["ZONEA1"]
    discovery_record_types = ["A", "AAAA"]
    tag_anywhere           = true
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["tag_change"].event_pattern) == {
      source        = ["aws.tag"]
      "detail-type" = ["Tag Change on Resource"]
      detail        = { service = ["ec2"], "resource-type" = ["instance"], "changed-tag-keys" = ["ddns:name"] }
    }
    error_message = "The tag-change rule's pattern is wrong."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition if s.Sid == "ChangeTaggedRecords"]) == {
      "ForAllValues:StringLike" = {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames" = ["*.example.com"]
      }
      "ForAllValues:StringEquals" = {
        "route53:ChangeResourceRecordSetsRecordTypes" = ["A", "AAAA", "TXT"]
        "route53:ChangeResourceRecordSetsActions"     = ["CREATE", "DELETE"]
      }
    }
    error_message = "Fleet mode must allow TXT markers, and names only within the allowed zones."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_KEY == "ddns:name" &&
      aws_lambda_function.this.environment[0].variables.DDNS_ZONES == "ZONEA1" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_TYPES == "A,AAAA" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_RECORDS")
    )
    error_message = "Fleet mode settings did not reach the function's environment."
  }
  assert {
    condition     = !can(jsondecode(aws_cloudwatch_event_rule.this["state_change"].event_pattern).detail["instance-id"])
    error_message = "In fleet mode the state-change rule must not be limited to listed instances."
  }
}

run "tag_anywhere_and_suffixes_exclude_each_other" {
  command = plan

  variables {
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
    tag_anywhere       = true
  }

  expect_failures = [var.tag_anywhere]
}

run "tag_suffixes_scope_what_a_tag_may_claim" {
  command = apply

  variables {
    tag_key             = "ddns:name"
    discovery_zone_ids  = ["ZONEA1"]
    tag_suffixes        = ["Dyn.Example.com."]
    tag_allow_wildcards = true
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] if s.Sid == "ChangeTaggedRecords"]) == ["*.dyn.example.com"]
    error_message = "With suffixes, tagged names may be written only below them."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_SUFFIXES == "dyn.example.com" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_ALLOW_WILDCARDS == "true"
    )
    error_message = "The suffixes and the wildcard switch must reach the function."
  }
}

run "tags_may_claim_the_apex_only_when_allowed" {
  command = apply

  variables {
    tag_key             = "ddns:name"
    discovery_zone_ids  = ["ZONEA1"]
    tag_allow_wildcards = true
    tag_anywhere        = true
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] if s.Sid == "ChangeTaggedRecords"]) == ["example.com", "*.example.com"]
    error_message = "With wildcards allowed, the apex is allowed too."
  }
}

run "rejects_a_suffix_outside_the_allowed_zones" {
  command = plan
  variables {
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.net"]
  }
  expect_failures = [terraform_data.suffixes_inside_the_zones]
}

# Wrong values are caught at plan time, each by its own check.

run "rejects_a_malformed_instance_id" {
  command = plan
  variables {
    instance_ids = ["i-XYZ"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
  }
  expect_failures = [var.instance_ids]
}

run "rejects_a_lower_case_zone_id" {
  command = plan
  variables {
    records = [{ instance_id = "i-12345678", zone_id = "z123", name = "app.example.com" }]
  }
  expect_failures = [var.records]
}

run "rejects_a_record_name_with_a_space" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app example.com"]
  }
  expect_failures = [var.record_names]
}

run "rejects_a_wildcard_that_is_not_the_first_label" {
  command = plan
  variables {
    records = [{ instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.*.example.com" }]
  }
  expect_failures = [var.records]
}

run "rejects_a_partial_trio" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
  }
  expect_failures = [var.record_names]
}

run "rejects_instances_and_names_that_do_not_pair" {
  command = plan
  variables {
    instance_ids = ["i-12345678", "i-87654321"]
    zone_id      = "ZONEA1"
    record_names = ["a.example.com", "b.example.com", "c.example.com"]
  }
  expect_failures = [var.record_names]
}

run "rejects_a_plain_http_webhook" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    webhook_url  = "http://hooks.example.net/x"
  }
  expect_failures = [var.webhook_url]
}

run "rejects_a_signed_webhook_without_a_webhook" {
  command = plan
  variables {
    instance_ids   = ["i-12345678"]
    zone_id        = "ZONEA1"
    record_names   = ["app.example.com"]
    webhook_signed = true
  }
  expect_failures = [var.webhook_signed]
}

run "rejects_a_bad_alert_repeat_and_alarm_email" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    alert_repeat = "soon"
    alarm_email  = "not an address"
  }
  expect_failures = [var.alert_repeat, var.alarm_email]
}

run "rejects_a_ttl_out_of_range" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    ttl          = 0
  }
  expect_failures = [var.ttl]
}

run "rejects_an_unknown_on_stop" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    on_stop      = "remove"
  }
  expect_failures = [var.on_stop]
}

run "rejects_a_bad_schedule" {
  command = plan
  variables {
    instance_ids        = ["i-12345678"]
    zone_id             = "ZONEA1"
    record_names        = ["app.example.com"]
    schedule_expression = "every minute"
  }
  expect_failures = [var.schedule_expression]
}

run "rejects_one_record_following_two_instances" {
  command = plan
  variables {
    records = [
      { instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com" },
      { instance_id = "i-87654321", zone_id = "ZONEA1", name = "APP.example.com." },
    ]
  }
  expect_failures = [terraform_data.one_instance_per_record]
}

run "rejects_a_configuration_with_nothing_to_do" {
  command         = plan
  expect_failures = [terraform_data.something_to_follow]
}

run "rejects_an_environment_over_lambdas_4_kb" {
  command = plan
  variables {
    records = [for i in range(60) : { instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "host-${i}.example.com", types = ["A", "AAAA"] }]
  }
  # The function keeps a single precondition, so its address names the rule.
  expect_failures = [aws_lambda_function.this]
}

# Address events (issue 24): API calls and Spot warnings, each with its own rule and alarm.

run "address_api_calls_and_spot_warnings_wake_the_function_by_default" {
  command = apply

  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["api_call"].event_pattern) == {
      source        = ["aws.ec2"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource = ["ec2.amazonaws.com"]
        eventName   = ["AssociateAddress", "DisassociateAddress", "AssignIpv6Addresses", "UnassignIpv6Addresses"]
      }
    }
    error_message = "The API-call rule's pattern is wrong: ${aws_cloudwatch_event_rule.this["api_call"].event_pattern}"
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["spot_interruption"].event_pattern) == {
      source        = ["aws.ec2"]
      "detail-type" = ["EC2 Spot Instance Interruption Warning"]
      detail        = { "instance-id" = ["i-12345678"] }
    }
    error_message = "The Spot rule must match the followed instances' interruption warnings: ${aws_cloudwatch_event_rule.this["spot_interruption"].event_pattern}"
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this["state_change"].event_pattern).detail.state == ["running", "stopping", "stopped", "shutting-down", "terminated"]
    error_message = "The state-change rule must match stopping and shutting-down too, while the instance still holds its address."
  }
  assert {
    condition = alltrue([for k in ["api_call", "spot_interruption"] : (
      aws_cloudwatch_event_target.this[k].arn == aws_lambda_function.this.arn &&
      aws_cloudwatch_event_target.this[k].rule == aws_cloudwatch_event_rule.this[k].name &&
      aws_lambda_permission.this[k].source_arn == aws_cloudwatch_event_rule.this[k].arn &&
      aws_cloudwatch_metric_alarm.this["failed_invocations_${k}"].metric_name == "FailedInvocations" &&
      aws_cloudwatch_metric_alarm.this["failed_invocations_${k}"].dimensions.RuleName == aws_cloudwatch_event_rule.this[k].name
    )])
    error_message = "Each new rule must target the function, with a permission scoped to it and a FailedInvocations alarm of its own."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.this["api_call"].name == "dynamic-dns-updater-ec2-address" && aws_cloudwatch_event_rule.this["spot_interruption"].name == "dynamic-dns-updater-spot-warning"
    error_message = "The new rules are named after the function."
  }
}

run "address_event_rules_can_be_switched_off" {
  command = plan

  variables {
    instance_ids                  = ["i-12345678"]
    zone_id                       = "ZONEA1"
    record_names                  = ["app.example.com"]
    ddns_api_call_events          = false
    ddns_spot_interruption_events = false
  }

  assert {
    condition     = join(",", concat(sort(keys(aws_cloudwatch_event_rule.this)), sort(keys(aws_cloudwatch_event_target.this)), sort(keys(aws_lambda_permission.this)))) == "schedule,state_change,schedule,state_change,schedule,state_change"
    error_message = "With both switches off, only the schedule and the state-change rule may wake the function."
  }
  assert {
    condition     = length([for k, a in aws_cloudwatch_metric_alarm.this : k if a.metric_name == "FailedInvocations"]) == 2
    error_message = "A rule switched off takes its FailedInvocations alarm with it."
  }
}

run "the_spot_rule_matches_every_instance_in_fleet_mode" {
  command = plan

  variables {
    tag_key              = "ddns:name"
    discovery_zone_ids   = ["ZONEA1"]
    tag_suffixes         = ["dyn.example.com"]
    ddns_api_call_events = false
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["spot_interruption"].event_pattern) == {
      source        = ["aws.ec2"]
      "detail-type" = ["EC2 Spot Instance Interruption Warning"]
    }
    error_message = "In fleet mode any instance may carry the tag: the Spot rule must not list instances."
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_event_rule.this), "api_call") && contains(keys(aws_cloudwatch_event_rule.this), "tag_change")
    error_message = "Each switch turns off its own rule only."
  }
}

# Private zones and split-horizon (issue 22).

run "address_choices_reach_DDNS_RECORDS_and_DDNS_TAG_ADDRESS" {
  command = plan

  variables {
    records = [
      { instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com", address = "private" },
      { instance_id = "i-12345678", zone_id = "ZONEA1", name = "www.example.com" },
    ]
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
    tag_address        = "public"
  }

  assert {
    condition = jsondecode(aws_lambda_function.this.environment[0].variables.DDNS_RECORDS) == [
      { instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com", types = ["A"], address = "private" },
      { instance_id = "i-12345678", zone_id = "ZONEA1", name = "www.example.com", types = ["A"] },
    ]
    error_message = "A mapping's address must reach DDNS_RECORDS, and be left out where not given: ${aws_lambda_function.this.environment[0].variables.DDNS_RECORDS}"
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.DDNS_TAG_ADDRESS == "public"
    error_message = "tag_address must reach the function as DDNS_TAG_ADDRESS."
  }
}

run "split_horizon_zones_are_both_granted" {
  command = plan

  variables {
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEPUB1", "ZONEPRIV1"]
    tag_anywhere       = true
  }

  # The mock provider cannot set private_zone (an optional argument, not computed): both zones
  # read as of unknown type here. The refusal of two zones of one type is checked against an
  # emulator (tests/deploy/run.sh, examples).

  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_ZONES == "ZONEPUB1,ZONEPRIV1" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_ADDRESS == "auto"
    )
    error_message = "Both zones must reach DDNS_ZONES, and the address follow each zone's type by default."
  }
  assert {
    condition = alltrue([for sid in ["ReadZones", "ChangeTaggedRecords", "DeleteReleasedAddresses", "DeleteOwnMarkers"] :
      join(" ", sort(one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == sid]))) ==
    "arn:aws:route53:::hostedzone/ZONEPRIV1 arn:aws:route53:::hostedzone/ZONEPUB1"])
    error_message = "Reading, writing and cleaning up must each be granted on both zones: ${aws_iam_role_policy.this.policy}"
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] if s.Sid == "ChangeTaggedRecords"]) == ["*.example.com"]
    error_message = "The zones share a domain: its names are listed once."
  }
}

run "rejects_an_unknown_tag_address" {
  command = plan
  variables {
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
    tag_address        = "elastic"
  }
  expect_failures = [var.tag_address]
}

run "rejects_an_unknown_record_address" {
  command = plan
  variables {
    records = [{ instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com", address = "both" }]
  }
  expect_failures = [var.records]
}

# Groups (issue 23): a group tag, alone or beside the name tag, static groups in records, the cap
# and the alert setting.

run "groups_alone_work_like_fleet_mode" {
  command = apply

  variables {
    group_tag_key      = "ddns:group"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
    group_max          = 12
    alert_on           = "problems"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["tag_change"].event_pattern) == {
      source        = ["aws.tag"]
      "detail-type" = ["Tag Change on Resource"]
      detail        = { service = ["ec2"], "resource-type" = ["instance"], "changed-tag-keys" = ["ddns:group"] }
    }
    error_message = "With groups alone, the tag-change rule must wake the function on the group tag: ${aws_cloudwatch_event_rule.this["tag_change"].event_pattern}"
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_GROUP_TAG_KEY == "ddns:group" &&
      aws_lambda_function.this.environment[0].variables.DDNS_ZONES == "ZONEA1" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_SUFFIXES == "dyn.example.com" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_TYPES == "A" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_ADDRESS == "auto" &&
      aws_lambda_function.this.environment[0].variables.DDNS_GROUP_MAX == "12" &&
      aws_lambda_function.this.environment[0].variables.DDNS_ALERT_ON == "problems" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_TAG_KEY")
    )
    error_message = "Groups without a name tag must reach the function with the zones, the name rules, the cap and the alert setting, and no DDNS_TAG_KEY."
  }
  assert {
    condition = (
      !can(jsondecode(aws_cloudwatch_event_rule.this["state_change"].event_pattern).detail["instance-id"]) &&
      !can(jsondecode(aws_cloudwatch_event_rule.this["spot_interruption"].event_pattern).detail)
    )
    error_message = "Any instance may carry the group tag: the state-change and Spot rules must not list instances."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] if s.Sid == "ChangeTaggedRecords"]) == ["*.dyn.example.com"]
    error_message = "Group names must be writable under the same suffixes as tagged names, and nowhere else."
  }
}

run "both_tags_wake_the_function_and_defaults_stay_unset" {
  command = plan

  variables {
    tag_key            = "ddns:name"
    group_tag_key      = "ddns:group"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this["tag_change"].event_pattern).detail["changed-tag-keys"] == ["ddns:name", "ddns:group"]
    error_message = "A change of either tag must wake the function: ${aws_cloudwatch_event_rule.this["tag_change"].event_pattern}"
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_KEY == "ddns:name" &&
      aws_lambda_function.this.environment[0].variables.DDNS_GROUP_TAG_KEY == "ddns:group" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_GROUP_MAX") &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_ALERT_ON")
    )
    error_message = "Both keys must reach the function; group_max = 8 and alert_on = \"all\" are the function's own defaults and stay unset."
  }
}

run "static_groups_reach_DDNS_RECORDS_the_rules_and_IAM" {
  command = apply

  variables {
    records = [
      { instance_ids = ["i-87654321", "i-12345678", "i-87654321"], zone_id = "ZONEA1", name = "Web.Example.com.", types = ["A", "AAAA"] },
      { instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "ssh.example.com" },
    ]
  }

  assert {
    condition = jsondecode(aws_lambda_function.this.environment[0].variables.DDNS_RECORDS) == [
      { instance_ids = ["i-87654321", "i-12345678"], zone_id = "ZONEA1", name = "web.example.com", types = ["A", "AAAA"] },
      { instance_id = "i-0123456789abcdef0", zone_id = "ZONEA1", name = "ssh.example.com", types = ["A"] },
    ]
    error_message = "A static group must reach DDNS_RECORDS as instance_ids (each once), with no instance_id: ${aws_lambda_function.this.environment[0].variables.DDNS_RECORDS}"
  }
  assert {
    condition = (
      jsondecode(aws_cloudwatch_event_rule.this["state_change"].event_pattern).detail["instance-id"] == ["i-0123456789abcdef0", "i-12345678", "i-87654321"] &&
      jsondecode(aws_cloudwatch_event_rule.this["spot_interruption"].event_pattern).detail["instance-id"] == ["i-0123456789abcdef0", "i-12345678", "i-87654321"]
    )
    error_message = "Every member of a static group must wake the function: ${aws_cloudwatch_event_rule.this["state_change"].event_pattern}"
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Condition["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] if s.Sid == "ChangeManagedRecords"]) == [
      "web.example.com", "_ddns-owner.web.example.com", "ssh.example.com", "_ddns-owner.ssh.example.com",
    ]
    error_message = "A static group's name and its marker must be granted like any mapped name."
  }
  assert {
    condition     = !contains(keys(aws_cloudwatch_event_rule.this), "tag_change")
    error_message = "Static groups need no tag rule."
  }
}

run "rejects_a_mapping_with_both_instance_id_and_instance_ids" {
  command = plan
  variables {
    records = [{ instance_id = "i-12345678", instance_ids = ["i-87654321"], zone_id = "ZONEA1", name = "web.example.com" }]
  }
  expect_failures = [var.records]
}

run "rejects_a_mapping_with_neither" {
  command = plan
  variables {
    records = [{ zone_id = "ZONEA1", name = "web.example.com" }]
  }
  expect_failures = [var.records]
}

run "rejects_an_empty_static_group" {
  command = plan
  variables {
    records = [{ instance_ids = [], zone_id = "ZONEA1", name = "web.example.com" }]
  }
  expect_failures = [var.records]
}

run "rejects_a_malformed_member_id" {
  command = plan
  variables {
    records = [{ instance_ids = ["i-12345678", "web-1"], zone_id = "ZONEA1", name = "web.example.com" }]
  }
  expect_failures = [var.records]
}

run "rejects_a_group_tag_key_equal_to_the_tag_key" {
  command = plan
  variables {
    tag_key            = "ddns:name"
    group_tag_key      = "ddns:name"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
  }
  expect_failures = [var.group_tag_key]
}

run "rejects_a_reserved_group_tag_key" {
  command = plan
  variables {
    group_tag_key      = "aws:autoscaling:groupName"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
  }
  expect_failures = [var.group_tag_key]
}

run "groups_need_zones_and_suffixes_like_fleet_mode" {
  command = plan
  variables {
    group_tag_key = "ddns:group"
  }
  expect_failures = [var.discovery_zone_ids, var.tag_anywhere]
}

run "rejects_a_group_max_out_of_range_and_an_unknown_alert_on" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    group_max    = 401
    alert_on     = "changes"
  }
  expect_failures = [var.group_max, var.alert_on]
}

run "rejects_a_group_max_that_is_not_whole" {
  command = plan
  variables {
    instance_ids = ["i-12345678"]
    zone_id      = "ZONEA1"
    record_names = ["app.example.com"]
    group_max    = 2.5
  }
  expect_failures = [var.group_max]
}
