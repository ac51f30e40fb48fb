# Plan-level tests of the module, offline: the AWS provider is mocked. They check the inputs'
# validations, the normalisation of record names, and the IAM policy built from them. The
# apply against an AWS emulator lives in tests/deploy/run.sh.

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
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/dynamic-dns-updater" }
  }
}

variables {
  zip_path = "tests/fixtures/stand-in.zip"
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
          "route53:ChangeResourceRecordSetsActions"               = ["CREATE", "DELETE", "UPSERT"]
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
    condition     = aws_lambda_function.this.environment[0].variables.DDNS_OWNER_ID == "dynamic-dns-updater"
    error_message = "DDNS_OWNER_ID must default to the name_prefix."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables.DDNS_ON_STOP == "keep"
    error_message = "DDNS_ON_STOP must follow on_stop."
  }
}

run "webhook_settings_reach_the_function_as_parameter_names_only" {
  command = apply

  variables {
    instance_ids   = ["i-12345678"]
    zone_id        = "ZONEA1"
    record_names   = ["app.example.com"]
    webhook_url    = "https://hooks.example.net/services/T0/B0/token"
    webhook_secret = "0123456789abcdef0123"
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
}

run "fleet_mode_adds_the_tag_rule_and_scopes_names_to_the_zones" {
  command = apply

  variables {
    tag_key                = "ddns:name"
    discovery_zone_ids     = ["ZONEA1"]
    discovery_record_types = ["A", "AAAA"]
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
        "route53:ChangeResourceRecordSetsNormalizedRecordNames" = ["example.com", "*.example.com"]
      }
      "ForAllValues:StringEquals" = {
        "route53:ChangeResourceRecordSetsRecordTypes" = ["A", "AAAA", "TXT"]
        "route53:ChangeResourceRecordSetsActions"     = ["CREATE", "DELETE", "UPSERT"]
      }
    }
    error_message = "Fleet mode must allow TXT markers, and names only within the allowed zones."
  }
  assert {
    condition = (
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_KEY == "ddns:name" &&
      aws_lambda_function.this.environment[0].variables.DDNS_ZONES == "ZONEA1" &&
      aws_lambda_function.this.environment[0].variables.DDNS_TAG_TYPES == "A,AAAA" &&
      aws_lambda_function.this.environment[0].variables.DDNS_OWNER_ID == "dynamic-dns-updater" &&
      !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_RECORDS")
    )
    error_message = "Fleet mode settings did not reach the function's environment."
  }
  assert {
    condition     = !can(jsondecode(aws_cloudwatch_event_rule.this["state_change"].event_pattern).detail["instance-id"])
    error_message = "In fleet mode the state-change rule must not be limited to listed instances."
  }
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

run "rejects_a_secret_without_a_webhook" {
  command = plan
  variables {
    instance_ids   = ["i-12345678"]
    zone_id        = "ZONEA1"
    record_names   = ["app.example.com"]
    webhook_secret = "0123456789abcdef0123"
  }
  expect_failures = [var.webhook_secret]
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
  expect_failures = [aws_lambda_function.this]
}

run "rejects_a_configuration_with_nothing_to_do" {
  command         = plan
  expect_failures = [aws_lambda_function.this]
}
