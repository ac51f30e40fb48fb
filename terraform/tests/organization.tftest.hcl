# Plan-level tests of organizations, offline with a mocked provider: the central side's inputs,
# validations and preconditions (organization.tf), what reaches the function and its policy, the
# bus the members forward to, and the member module (modules/member) on its own. The apply of the
# example against an emulator, with a pattern probe per rule, is in tests/deploy/run.sh
# (organization).

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
    defaults = { name = "example.com." }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/dynamic-dns-updater-us-east-1" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:us-east-1:123456789012:function:dynamic-dns-updater" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:us-east-1:123456789012:rule/dynamic-dns-updater-members/dynamic-dns-updater-members-ec2-state" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:dynamic-dns-updater-failed-events" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/dynamic-dns-updater" }
  }
}

# As in module.tftest.hcl: terraform test before 1.17 wants every optional ephemeral input given.
variables {
  zip_path       = "tests/fixtures/stand-in.zip"
  webhook_url    = "https://hooks.example.net/unused"
  webhook_secret = "unused-0123456789abcdef"
  records        = [{ instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com" }]
  targets = [
    { account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:role/dynamic-dns-updater-reader", regions = ["us-east-1"] },
    { account_id = "222222222222", role_arn = "arn:aws:iam::222222222222:role/ddns-reader", regions = ["eu-west-1", "us-east-1"], external_id = "ddns-0123456789" },
  ]
}

run "targets_reach_the_function_its_policy_and_a_bus_of_their_own" {
  command = apply

  variables {
    records            = []
    tag_key            = "ddns:name"
    group_tag_key      = "ddns:group"
    discovery_zone_ids = ["ZONEA1"]
    tag_suffixes       = ["dyn.example.com"]
  }

  assert {
    condition = jsondecode(aws_lambda_function.this.environment[0].variables.DDNS_TARGETS) == [
      { account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:role/dynamic-dns-updater-reader", regions = ["us-east-1"] },
      { account_id = "222222222222", role_arn = "arn:aws:iam::222222222222:role/ddns-reader", regions = ["eu-west-1", "us-east-1"], external_id = "ddns-0123456789" },
    ]
    error_message = "DDNS_TARGETS must hold each target, without external_id where none is given: ${aws_lambda_function.this.environment[0].variables.DDNS_TARGETS}"
  }
  assert {
    condition     = !contains(keys(aws_lambda_function.this.environment[0].variables), "DDNS_ROUTE53_ROLE_ARN")
    error_message = "Without route53_role_arn the function must get no DDNS_ROUTE53_ROLE_ARN."
  }
  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "AssumeTargetAndRoute53Roles"]) == {
      Sid      = "AssumeTargetAndRoute53Roles"
      Effect   = "Allow"
      Action   = ["sts:AssumeRole"]
      Resource = ["arn:aws:iam::111111111111:role/dynamic-dns-updater-reader", "arn:aws:iam::222222222222:role/ddns-reader"]
    }
    error_message = "The function may assume exactly the targets' roles: ${aws_iam_role_policy.this.policy}"
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if startswith(s.Action[0], "route53:")]) == 4
    error_message = "Without route53_role_arn the function's own role keeps its Route53 statements."
  }
  assert {
    condition     = aws_cloudwatch_event_bus.members[0].name == "dynamic-dns-updater-members" && output.event_bus_arn == "arn:aws:events:us-east-1:123456789012:event-bus/dynamic-dns-updater-members"
    error_message = "Targets get a bus of their own, <name>-members, and event_bus_arn names it: ${output.event_bus_arn}"
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_bus_policy.members[0].policy).Statement == [{
      Sid       = "TargetAccountsForwardEvents"
      Effect    = "Allow"
      Principal = { AWS = ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"] }
      Action    = "events:PutEvents"
      Resource  = "arn:aws:events:us-east-1:123456789012:event-bus/dynamic-dns-updater-members"
    }] && aws_cloudwatch_event_bus_policy.members[0].event_bus_name == "dynamic-dns-updater-members"
    error_message = "The bus policy must let the targets' accounts, and nobody else, put events on the bus: ${aws_cloudwatch_event_bus_policy.members[0].policy}"
  }
  assert {
    condition     = join(" ", keys(aws_cloudwatch_event_rule.members)) == "api_call spot_interruption state_change tag_change"
    error_message = "The members' bus needs a rule for each event rule of the stack's own, and no schedule."
  }
  assert {
    condition     = alltrue([for k, r in aws_cloudwatch_event_rule.members : r.event_pattern == aws_cloudwatch_event_rule.this[k].event_pattern && r.event_bus_name == "dynamic-dns-updater-members"])
    error_message = "Each rule on the members' bus must have the very pattern of the stack's own rule of its kind."
  }
  assert {
    condition     = aws_cloudwatch_event_rule.members["state_change"].name == "dynamic-dns-updater-members-ec2-state"
    error_message = "The members' rules are named <name>-members-<kind>."
  }
  # The patterns the member module copies (modules/member, checked in its runs below).
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this["state_change"].event_pattern) == {
      source        = ["aws.ec2"]
      "detail-type" = ["EC2 Instance State-change Notification"]
      detail        = { state = ["running", "stopping", "stopped", "shutting-down", "terminated"] }
    }
    error_message = "The state-change pattern changed: change modules/member's copy too."
  }
  assert {
    condition     = alltrue([for k, t in aws_cloudwatch_event_target.members : t.event_bus_name == "dynamic-dns-updater-members" && t.arn == aws_lambda_function.this.arn])
    error_message = "Each members' rule must target the function, on the members' bus."
  }
  assert {
    condition     = alltrue([for k, p in aws_lambda_permission.members : p.source_arn == aws_cloudwatch_event_rule.members[k].arn && p.principal == "events.amazonaws.com"])
    error_message = "Each members' rule needs its own invoke permission, scoped to its ARN."
  }
  assert {
    condition = alltrue([for k, a in aws_cloudwatch_metric_alarm.members : a.metric_name == "FailedInvocations" &&
    a.dimensions.EventBusName == "dynamic-dns-updater-members" && a.dimensions.RuleName == aws_cloudwatch_event_rule.members[k].name]) && length(aws_cloudwatch_metric_alarm.members) == 4
    error_message = "Each members' rule needs a FailedInvocations alarm by bus and rule."
  }
  assert {
    condition     = output.route53_policy == null
    error_message = "Without route53_role_arn there is no DNS role's policy to give."
  }
}

run "route53_role_makes_every_route53_call_and_no_zone_is_read_here" {
  command = plan

  variables {
    # A name outside the mock's zone (example.com): with the zones elsewhere, that check is the function's.
    records          = [{ instance_id = "i-12345678", zone_id = "ZONEDNS1", name = "app.example.org" }]
    route53_role_arn = "arn:aws:iam::444444444444:role/ddns-route53"
  }

  assert {
    condition     = aws_lambda_function.this.environment[0].variables.DDNS_ROUTE53_ROLE_ARN == "arn:aws:iam::444444444444:role/ddns-route53"
    error_message = "route53_role_arn must reach the function as DDNS_ROUTE53_ROLE_ARN."
  }
  assert {
    condition     = length(data.aws_route53_zone.this) == 0
    error_message = "The zones are the DNS account's: none may be read with this stack's credentials."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if startswith(s.Action[0], "route53:")]) == 0
    error_message = "With route53_role_arn the function's own role must hold no Route53 statement: ${aws_iam_role_policy.this.policy}"
  }
  assert {
    condition     = contains(one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "AssumeTargetAndRoute53Roles"]), "arn:aws:iam::444444444444:role/ddns-route53")
    error_message = "The function must be allowed to assume the DNS role."
  }
  assert {
    condition = join(" ", sort([for s in jsondecode(output.route53_policy).Statement : s.Sid])) == "ChangeManagedRecords DeleteOwnMarkers DeleteReleasedAddresses ReadZones" && alltrue([
    for s in jsondecode(output.route53_policy).Statement : alltrue([for r in s.Resource : r == "arn:aws:route53:::hostedzone/ZONEDNS1"])])
    error_message = "route53_policy must hold the Route53 statements, on the configured zone: ${output.route53_policy}"
  }
}

run "route53_role_in_fleet_mode_scopes_the_dns_roles_tagged_names" {
  command = plan

  variables {
    records            = []
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEDNS1"]
    tag_suffixes       = ["dyn.example.org"]
    route53_role_arn   = "arn:aws:iam::444444444444:role/ddns-route53"
  }

  assert {
    condition     = one([for s in jsondecode(output.route53_policy).Statement : s.Condition["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"] if s.Sid == "ChangeTaggedRecords"]) == ["*.dyn.example.org"]
    error_message = "The DNS role's policy must allow tagged names below the suffixes only: ${output.route53_policy}"
  }
  assert {
    condition     = length(data.aws_route53_zone.this) == 0
    error_message = "No zone may be read with this stack's credentials."
  }
}

run "route53_role_alone_needs_no_bus" {
  command = plan

  variables {
    targets          = []
    route53_role_arn = "arn:aws:iam::444444444444:role/ddns-route53"
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus.members) == 0 && length(aws_cloudwatch_event_bus_policy.members) == 0 && output.event_bus_arn == null
    error_message = "Without targets there is no members' bus."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "AssumeTargetAndRoute53Roles"]) == ["arn:aws:iam::444444444444:role/ddns-route53"]
    error_message = "The function may assume the DNS role, and nothing else."
  }
}

run "without_targets_nothing_of_organizations_exists" {
  command = plan

  variables {
    targets = []
  }

  assert {
    condition     = length(setintersection(keys(aws_lambda_function.this.environment[0].variables), ["DDNS_TARGETS", "DDNS_ROUTE53_ROLE_ARN"])) == 0
    error_message = "Without targets and route53_role_arn the function gets neither variable."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "AssumeTargetAndRoute53Roles"]) == 0
    error_message = "With nothing to assume, the policy has no sts:AssumeRole statement."
  }
  assert {
    condition     = length(aws_cloudwatch_event_bus.members) + length(aws_cloudwatch_event_bus_policy.members) + length(aws_cloudwatch_event_rule.members) + length(aws_cloudwatch_metric_alarm.members) == 0
    error_message = "Without targets no bus, policy, rule or alarm of organizations is made."
  }
  assert {
    condition     = output.event_bus_arn == null && output.route53_policy == null
    error_message = "Without targets or route53_role_arn both outputs are null."
  }
}

run "the_organization_may_forward_instead_of_each_account" {
  command = plan

  variables {
    organization_id = "o-a1b2c3d4e5"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_bus_policy.members[0].policy).Statement == [{
      Sid       = "OrganizationForwardsEvents"
      Effect    = "Allow"
      Principal = "*"
      Action    = "events:PutEvents"
      Resource  = "arn:aws:events:us-east-1:123456789012:event-bus/dynamic-dns-updater-members"
      Condition = { StringEquals = { "aws:PrincipalOrgID" = "o-a1b2c3d4e5" } }
    }]
    error_message = "With organization_id the bus admits the organization's accounts only: ${aws_cloudwatch_event_bus_policy.members[0].policy}"
  }
}

run "the_default_bus_can_take_the_members_events" {
  command = plan

  variables {
    central_event_bus = "default"
  }

  assert {
    condition     = length(aws_cloudwatch_event_bus.members) == 0 && length(aws_cloudwatch_event_rule.members) == 0
    error_message = "On the default bus the stack's own rules serve the members: no bus and no second set of rules."
  }
  assert {
    condition     = output.event_bus_arn == "arn:aws:events:us-east-1:123456789012:event-bus/default"
    error_message = "event_bus_arn names the default bus."
  }
  assert {
    # A bus policy would replace every other statement on the shared default bus.
    condition     = length(aws_cloudwatch_event_bus_policy.members) == 0 && length(aws_cloudwatch_event_permission.members) > 0
    error_message = "On the default bus the stack adds statements of its own, never the whole bus policy."
  }
  assert {
    condition = [for p in aws_cloudwatch_event_permission.members : [p.event_bus_name, p.statement_id, p.principal, p.action]] == [
      ["default", "dynamic-dns-updater-111111111111", "111111111111", "events:PutEvents"],
      ["default", "dynamic-dns-updater-222222222222", "222222222222", "events:PutEvents"],
    ]
    error_message = "One statement per target account, named after the stack, on the default bus."
  }
}

run "the_default_bus_admits_an_organization_with_one_statement" {
  command = plan

  variables {
    central_event_bus = "default"
    organization_id   = "o-a1b2c3d4e5"
  }

  assert {
    condition = length(aws_cloudwatch_event_bus_policy.members) == 0 && [for p in aws_cloudwatch_event_permission.members : [p.statement_id, p.principal, p.condition[0].key, p.condition[0].value]] == [
      ["dynamic-dns-updater-organization", "*", "aws:PrincipalOrgID", "o-a1b2c3d4e5"],
    ]
    error_message = "With organization_id the default bus gets one statement, for the organization only."
  }
}

run "a_bus_of_another_name" {
  command = plan

  variables {
    central_event_bus = "ddns-org"
  }

  assert {
    condition     = aws_cloudwatch_event_bus.members[0].name == "ddns-org" && output.event_bus_arn == "arn:aws:events:us-east-1:123456789012:event-bus/ddns-org"
    error_message = "central_event_bus names the bus made."
  }
}

run "records_may_follow_an_instance_in_a_target" {
  command = apply

  variables {
    records = [
      { instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com" },
      { instance_id = "i-87654321", zone_id = "ZONEA1", name = "far.example.com", account_id = "222222222222", region = "eu-west-1" },
    ]
  }

  assert {
    condition = jsondecode(aws_lambda_function.this.environment[0].variables.DDNS_RECORDS) == [
      { instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com", types = ["A"] },
      { instance_id = "i-87654321", zone_id = "ZONEA1", name = "far.example.com", types = ["A"], account_id = "222222222222", region = "eu-west-1" },
    ]
    error_message = "A mapping's account_id and region must reach DDNS_RECORDS, and be left out where not given: ${aws_lambda_function.this.environment[0].variables.DDNS_RECORDS}"
  }
}

# ---------------------------------------------------------------------------------------------
# What the central side refuses
# ---------------------------------------------------------------------------------------------

run "rejects_a_short_account_id" {
  command = plan
  variables {
    targets = [{ account_id = "11111111111", role_arn = "arn:aws:iam::11111111111:role/r", regions = ["us-east-1"] }]
  }
  expect_failures = [var.targets]
}

run "rejects_a_role_arn_that_is_not_a_role" {
  command = plan
  variables {
    targets = [{ account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:user/r", regions = ["us-east-1"] }]
  }
  expect_failures = [var.targets]
}

run "rejects_a_role_of_another_account" {
  command = plan
  variables {
    targets = [{ account_id = "111111111111", role_arn = "arn:aws:iam::222222222222:role/r", regions = ["us-east-1"] }]
  }
  expect_failures = [var.targets]
}

run "rejects_a_region_that_is_no_region_name" {
  command = plan
  variables {
    targets = [{ account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:role/r", regions = ["Europe"] }]
  }
  expect_failures = [var.targets]
}

run "rejects_a_target_without_regions" {
  command = plan
  variables {
    targets = [{ account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:role/r", regions = [] }]
  }
  expect_failures = [var.targets]
}

run "rejects_an_account_and_region_listed_twice" {
  command = plan
  variables {
    targets = [
      { account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:role/r", regions = ["us-east-1", "eu-west-1"] },
      { account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:role/s", regions = ["eu-west-1"] },
    ]
  }
  expect_failures = [var.targets]
}

run "rejects_an_external_id_sts_would_refuse" {
  command = plan
  variables {
    targets = [{ account_id = "111111111111", role_arn = "arn:aws:iam::111111111111:role/r", regions = ["us-east-1"], external_id = "has spaces" }]
  }
  expect_failures = [var.targets]
}

run "rejects_the_stacks_own_account_and_region_as_a_target" {
  command = plan
  variables {
    targets = [{ account_id = "123456789012", role_arn = "arn:aws:iam::123456789012:role/r", regions = ["eu-west-1", "us-east-1"] }]
  }
  expect_failures = [terraform_data.targets_are_elsewhere]
}

run "rejects_a_malformed_route53_role_arn" {
  command = plan
  variables {
    route53_role_arn = "ddns-route53"
  }
  expect_failures = [var.route53_role_arn]
}

run "rejects_tag_anywhere_with_zones_elsewhere" {
  command = plan
  variables {
    records            = []
    tag_key            = "ddns:name"
    discovery_zone_ids = ["ZONEA1"]
    tag_anywhere       = true
    route53_role_arn   = "arn:aws:iam::444444444444:role/ddns-route53"
  }
  expect_failures = [var.route53_role_arn]
}

run "rejects_a_malformed_organization_id" {
  command = plan
  variables {
    organization_id = "r-a1b2"
  }
  expect_failures = [var.organization_id]
}

run "rejects_an_organization_id_without_targets" {
  command = plan
  variables {
    targets         = []
    organization_id = "o-a1b2c3d4e5"
  }
  expect_failures = [var.organization_id]
}

run "rejects_a_bus_name_eventbridge_would_refuse" {
  command = plan
  variables {
    central_event_bus = "members/bus"
  }
  expect_failures = [var.central_event_bus]
}

run "rejects_a_mapping_with_an_account_but_no_region" {
  command = plan
  variables {
    records = [{ instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com", account_id = "111111111111" }]
  }
  expect_failures = [var.records]
}

run "rejects_a_mapping_in_an_account_and_region_not_followed" {
  command = plan
  variables {
    records = [{ instance_id = "i-12345678", zone_id = "ZONEA1", name = "app.example.com", account_id = "111111111111", region = "eu-west-1" }]
  }
  expect_failures = [terraform_data.mappings_in_targets]
}

# ---------------------------------------------------------------------------------------------
# The member module, on its own (the mock's account is 123456789012, in us-east-1)
# ---------------------------------------------------------------------------------------------

run "member_forwards_the_functions_events_and_lets_the_function_read" {
  command = apply

  module {
    source = "./modules/member"
  }

  variables {
    central_event_bus_arn = "arn:aws:events:eu-west-1:999999999999:event-bus/ddns-members"
    central_role_arn      = "arn:aws:iam::999999999999:role/ddns-eu-west-1"
    name                  = "ddns"
    tag_keys              = ["ddns:name", "ddns:group"]
    external_id           = "ddns-0123456789"
    alarm_actions         = ["arn:aws:sns:eu-west-1:999999999999:ops-alarms"]
  }

  assert {
    condition     = join(" ", keys(aws_cloudwatch_event_rule.forward)) == "api_call spot_interruption state_change tag_change"
    error_message = "By default a member forwards state changes, address calls and Spot warnings, and tag changes with tag_keys."
  }
  assert {
    # The failures are counted in the member account only: without these, nobody hears of them.
    condition = { for k, a in aws_cloudwatch_metric_alarm.forward : k => [a.namespace, a.metric_name, a.dimensions.RuleName, a.alarm_actions] } == {
      for k, r in aws_cloudwatch_event_rule.forward : k => ["AWS/Events", "FailedInvocations", r.name, toset(["arn:aws:sns:eu-west-1:999999999999:ops-alarms"])]
    }
    error_message = "Each forwarding rule has an alarm on its FailedInvocations, notifying alarm_actions."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forward["state_change"].event_pattern) == {
      source        = ["aws.ec2"]
      "detail-type" = ["EC2 Instance State-change Notification"]
      detail        = { state = ["running", "stopping", "stopped", "shutting-down", "terminated"] }
    }
    error_message = "The state-change pattern must be the root module's (pending excluded)."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forward["api_call"].event_pattern) == {
      source        = ["aws.ec2"]
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource = ["ec2.amazonaws.com"]
        eventName   = ["AssociateAddress", "DisassociateAddress", "AssignIpv6Addresses", "UnassignIpv6Addresses"]
      }
    }
    error_message = "The address-call pattern must be the root module's."
  }
  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.forward["spot_interruption"].event_pattern) == { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] }
    error_message = "The Spot pattern must be the root module's in fleet mode (no instance list)."
  }
  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.forward["tag_change"].event_pattern) == {
      source        = ["aws.tag"]
      "detail-type" = ["Tag Change on Resource"]
      detail        = { service = ["ec2"], "resource-type" = ["instance"], "changed-tag-keys" = ["ddns:name", "ddns:group"] }
    }
    error_message = "The tag pattern must name the given keys, as the root module's does."
  }
  assert {
    condition     = alltrue([for k, t in aws_cloudwatch_event_target.forward : t.arn == "arn:aws:events:eu-west-1:999999999999:event-bus/ddns-members" && t.role_arn == aws_iam_role.forward.arn])
    error_message = "Each rule must target the central bus, with the forwarding role."
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.forward.policy).Statement == [{ Sid = "PutEventsOnTheCentralBus", Effect = "Allow", Action = ["events:PutEvents"], Resource = ["arn:aws:events:eu-west-1:999999999999:event-bus/ddns-members"] }]
    error_message = "The forwarding role may put events on the central bus and nowhere else."
  }
  assert {
    condition     = jsondecode(aws_iam_role.forward.assume_role_policy).Statement[0].Condition == { StringEquals = { "aws:SourceAccount" = "123456789012" } } && aws_iam_role.forward.name == "ddns-forward-us-east-1"
    error_message = "Only this account's EventBridge may use the forwarding role, named for its region."
  }
  assert {
    condition = jsondecode(aws_iam_role.reader[0].assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::999999999999:role/ddns-eu-west-1" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = "ddns-0123456789" } }
    }] && aws_iam_role.reader[0].name == "dynamic-dns-updater-reader"
    error_message = "The reader role trusts the central function's role alone, with the external id: ${aws_iam_role.reader[0].assume_role_policy}"
  }
  assert {
    condition     = jsondecode(aws_iam_role_policy.reader[0].policy).Statement == [{ Sid = "FindInstanceAddresses", Effect = "Allow", Action = ["ec2:DescribeInstances"], Resource = ["*"] }]
    error_message = "The reader role may call ec2:DescribeInstances and nothing else."
  }
}

run "member_in_another_region_of_the_account_without_switches" {
  command = plan

  module {
    source = "./modules/member"
  }

  variables {
    central_event_bus_arn         = "arn:aws:events:eu-west-1:999999999999:event-bus/ddns-members"
    central_role_arn              = "arn:aws:iam::999999999999:role/ddns-eu-west-1"
    create_reader_role            = false
    ddns_api_call_events          = false
    ddns_spot_interruption_events = false
  }

  assert {
    condition     = join(" ", keys(aws_cloudwatch_event_rule.forward)) == "state_change" && length(aws_iam_role.reader) == 0 && output.reader_role_arn == null
    error_message = "Without the switches and tag keys only state changes are forwarded; without create_reader_role there is no reader role."
  }
}

run "member_reader_role_without_an_external_id_has_no_condition" {
  command = plan

  module {
    source = "./modules/member"
  }

  variables {
    central_event_bus_arn = "arn:aws:events:eu-west-1:999999999999:event-bus/ddns-members"
    central_role_arn      = "arn:aws:iam::999999999999:role/ddns-eu-west-1"
  }

  assert {
    condition     = !contains(keys(jsondecode(aws_iam_role.reader[0].assume_role_policy).Statement[0]), "Condition")
    error_message = "Without external_id the trust has no condition."
  }
}

run "member_refuses_the_central_account_and_region" {
  command = plan

  module {
    source = "./modules/member"
  }

  variables {
    central_event_bus_arn = "arn:aws:events:us-east-1:123456789012:event-bus/ddns-members"
    central_role_arn      = "arn:aws:iam::123456789012:role/ddns-us-east-1"
  }

  expect_failures = [terraform_data.not_the_central_region]
}

run "member_refuses_a_bus_arn_that_is_none" {
  command = plan

  module {
    source = "./modules/member"
  }

  variables {
    central_event_bus_arn = "arn:aws:sqs:us-east-1:999999999999:queue"
    central_role_arn      = "arn:aws:iam::999999999999:role/ddns-us-east-1"
  }

  expect_failures = [var.central_event_bus_arn]
}
