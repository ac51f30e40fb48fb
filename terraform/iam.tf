# IAM: exactly what the function calls, on exactly its own resources. The Route53 writes come in
# four statements, one per grant of the function's batching (src/route53/batches.rs): the
# function never sends a request that mixes them, so every request falls under one statement.

locals {
  zone_arn      = "arn:${local.partition}:route53:::hostedzone"
  all_zone_arns = [for z in local.all_zone_ids : "${local.zone_arn}/${z}"]

  # IAM compares names in Route53's normalised form: lower case, no trailing dot, and any
  # character other than a-z 0-9 - _ . as a backslash and three octal digits (so * is \052).
  # Beside each name the function keeps a TXT ownership marker, "_ddns-owner.<name>".
  iam_record_names = distinct(flatten([for r in local.records : [
    replace(r.name, "*", "\\052"),
    "_ddns-owner.${replace(r.name, "*", "\\052")}",
  ]]))
  iam_record_types = sort(distinct(concat(flatten([for r in local.records : r.types]), ["TXT"])))

  # CREATE for new records and markers, DELETE when an instance stops (on_stop = "delete"),
  # terminates, or loses an address family; a move is the DELETE of the values read with the
  # CREATE of the new ones (a compare-and-swap), so UPSERT is never needed.
  record_actions = ["CREATE", "DELETE"]

  # What a tag (a name tag or a group tag) may name: below the suffixes; or, only with the tag_anywhere opt-in, anything in
  # the allowed zones, the zone apex only when tags may claim it. StringLike's * also matches
  # the \052 of a wildcard name and the _ddns-owner. of a marker.
  # distinct: split-horizon zones share a domain.
  tagged_names = length(local.tag_suffixes) > 0 ? [for s in local.tag_suffixes : "*.${s}"] : var.tag_anywhere && !local.zones_elsewhere ? distinct(flatten([
    for z in local.discovery_zone_ids : var.tag_allow_wildcards ? [local.zone_names[z], "*.${local.zone_names[z]}"] : ["*.${local.zone_names[z]}"]
  ])) : []

  route53_write_statements = concat(
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
    # Fleet mode and groups: names come from tags at run time, so they cannot be listed here.
    # Name tags and group tags name records under the same rules, so one statement covers both.
    local.fleet && length(local.tagged_names) > 0 ? [
      {
        Sid      = "ChangeTaggedRecords"
        Effect   = "Allow"
        Action   = ["route53:ChangeResourceRecordSets"]
        Resource = [for z in local.discovery_zone_ids : "${local.zone_arn}/${z}"]
        Condition = {
          "ForAllValues:StringLike" = {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames" = local.tagged_names
          }
          "ForAllValues:StringEquals" = {
            "route53:ChangeResourceRecordSetsRecordTypes" = sort(distinct(concat(var.discovery_record_types, ["TXT"])))
            "route53:ChangeResourceRecordSetsActions"     = local.record_actions
          }
        }
      },
    ] : [],
    [
      # The clean-up of records of ours nothing asks for any more: a name removed from the
      # configuration, a type dropped, a tag removed, a release. Such names are no longer in
      # the configuration, so this statement cannot list them: it allows deleting A and AAAA
      # records anywhere in the configured zones. The function deletes only records its
      # markers say are its own (README, "Permissions").
      {
        Sid      = "DeleteReleasedAddresses"
        Effect   = "Allow"
        Action   = ["route53:ChangeResourceRecordSets"]
        Resource = local.all_zone_arns
        Condition = {
          "ForAllValues:StringEquals" = {
            "route53:ChangeResourceRecordSetsRecordTypes" = ["A", "AAAA"]
            "route53:ChangeResourceRecordSetsActions"     = ["DELETE"]
          }
        }
      },
      # And the markers of those names: TXT records under _ddns-owner. only, deleted.
      {
        Sid      = "DeleteOwnMarkers"
        Effect   = "Allow"
        Action   = ["route53:ChangeResourceRecordSets"]
        Resource = local.all_zone_arns
        Condition = {
          "ForAllValues:StringLike" = {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames" = ["_ddns-owner.*"]
          }
          "ForAllValues:StringEquals" = {
            "route53:ChangeResourceRecordSetsRecordTypes" = ["TXT"]
            "route53:ChangeResourceRecordSetsActions"     = ["DELETE"]
          }
        }
      },
    ],
  )

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
        Resource = local.all_zone_arns
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
    local.route53_write_statements,
    var.webhook_enabled ? [
      {
        Sid      = "ReadWebhookSettings"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = concat(["${local.parameter_arn}${local.url_parameter}"], var.webhook_signed ? ["${local.parameter_arn}${local.secret_parameter}"] : [])
      },
      {
        # The open incidents, kept across cold starts so that a problem alerts once; created
        # on the first write, deleted by a release.
        Sid      = "KeepOpenIncidents"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"]
        Resource = ["${local.parameter_arn}${local.incidents_parameter}"]
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
    var.kms_key_arn == null ? [] : [
      {
        # Sending a failed event to the queue the key encrypts needs a data key, only ever
        # through SQS; without it the event would be lost without a word.
        Sid       = "EncryptFailedEvents"
        Effect    = "Allow"
        Action    = ["kms:GenerateDataKey"]
        Resource  = [var.kms_key_arn]
        Condition = { StringEquals = { "kms:ViaService" = "sqs.${local.region}.amazonaws.com" } }
      },
    ],
    length(local.assumed_role_arns) == 0 ? [] : [
      {
        # Organizations (organization.tf): each target's reader role, for ec2:DescribeInstances
        # there, and the DNS account's role for Route53; exactly those roles.
        Sid      = "AssumeTargetAndRoute53Roles"
        Effect   = "Allow"
        Action   = ["sts:AssumeRole"]
        Resource = local.assumed_role_arns
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

# All of the above, less the Route53 statements when route53_role_arn makes those calls
# (organization.tf).
resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.own_statements })
}
