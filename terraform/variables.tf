# Inputs of the module. Every value that can be wrong is checked here, before any AWS call.
# The patterns match what the function itself accepts (src/names.rs), so a plan never ships a
# configuration that the function rejects at cold start.

# ---------------------------------------------------------------------------------------------
# What to keep pointed where
# ---------------------------------------------------------------------------------------------

variable "records" {
  description = <<-EOT
    Record mappings, the same shape as the function's DDNS_RECORDS: each keeps `name` in hosted
    zone `zone_id` pointed at an address of `instance_id`, or, for a static group, at the
    addresses of every running instance in `instance_ids` (one record set, at most group_max
    addresses). Give exactly one of the two. `ttl` defaults to var.ttl and `types` to ["A"];
    use ["A", "AAAA"] for IPv6 too. `address` says which IPv4 the A record holds: "auto" (the
    default: the public one in a public zone, the private one in a private zone), "public" or
    "private". One record (zone, name, type) comes from only one mapping. Can be combined with
    the simple trio (instance_ids, zone_id, record_names). An instance in another account and
    region gives both `account_id` and `region`, which must be one of targets'.
  EOT
  type = list(object({
    instance_id  = optional(string)
    instance_ids = optional(list(string))
    zone_id      = string
    name         = string
    ttl          = optional(number)
    types        = optional(list(string))
    address      = optional(string)
    account_id   = optional(string)
    region       = optional(string)
  }))
  default  = []
  nullable = false

  validation {
    condition     = alltrue([for r in var.records : (r.account_id == null) == (r.region == null)])
    error_message = "Every records[] entry gives both account_id and region (an instance in a target account and region), or neither (an instance in this stack's own)."
  }
  validation {
    condition     = alltrue([for r in var.records : r.account_id == null || can(regex("^[0-9]{12}$", coalesce(r.account_id, "-"))) && can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", coalesce(r.region, "-")))])
    error_message = "Every records[].account_id must be 12 digits and every records[].region a region name, like 111122223333 and eu-west-1."
  }

  validation {
    condition     = alltrue([for r in var.records : (r.instance_id == null) != (r.instance_ids == null)])
    error_message = "Every records[] entry needs exactly one of instance_id (one instance) and instance_ids (a static group: the running instances' addresses in one record set), not both and not neither."
  }
  validation {
    condition     = alltrue([for r in var.records : r.instance_id == null || can(regex("^i-([0-9a-f]{8}|[0-9a-f]{17})$", r.instance_id))])
    error_message = "Every records[].instance_id must be an EC2 instance id: i- and 8 or 17 lower-case hex digits, like i-0123456789abcdef0."
  }
  validation {
    condition     = alltrue([for r in var.records : r.instance_ids == null || try(length(r.instance_ids) > 0, false)])
    error_message = "Every records[].instance_ids must list at least one instance id (a static group with no member would have nothing to point at)."
  }
  validation {
    condition     = alltrue([for id in flatten([for r in var.records : r.instance_ids == null ? [] : r.instance_ids]) : can(regex("^i-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "Every records[].instance_ids entry must be an EC2 instance id: i- and 8 or 17 lower-case hex digits, like i-0123456789abcdef0."
  }
  validation {
    condition     = alltrue([for r in var.records : can(regex("^(/hostedzone/)?[A-Z0-9]{1,32}$", r.zone_id))])
    error_message = "Every records[].zone_id must be a Route53 hosted zone id: upper-case letters and digits, like Z0123456789ABCDEFGHIJ."
  }
  validation {
    condition = alltrue([for r in var.records : length(trimsuffix(r.name, ".")) <= 253 && can(regex(
      "^(\\*|[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\\.?$",
    replace(r.name, "\\052", "*"))) && strcontains(trimsuffix(r.name, "."), ".")])
    error_message = "Every records[].name must be a fully qualified DNS name such as app.example.com (letters, digits, - and _; a * only as the whole leftmost label)."
  }
  validation {
    condition     = alltrue([for r in var.records : r.ttl == null || try(r.ttl >= 1 && r.ttl <= 86400 && floor(r.ttl) == r.ttl, false)])
    error_message = "Every records[].ttl must be a whole number of seconds from 1 to 86400."
  }
  validation {
    condition     = alltrue([for r in var.records : r.types == null || try(length(r.types) > 0 && alltrue([for t in r.types : contains(["A", "AAAA"], t)]), false)])
    error_message = "Every records[].types must be a non-empty list of \"A\" and/or \"AAAA\"."
  }
  validation {
    condition     = alltrue([for r in var.records : r.address == null || contains(["auto", "public", "private"], coalesce(r.address, "auto"))])
    error_message = "Every records[].address must be \"auto\" (by the zone's type), \"public\" or \"private\"."
  }
}

variable "instance_ids" {
  description = <<-EOT
    The simple form, as in the original deployment: the EC2 instance id(s) to follow, together
    with zone_id and record_names. One instance id follows every name in record_names; several
    instance ids pair with record_names one to one, in order.
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.instance_ids : can(regex("^i-([0-9a-f]{8}|[0-9a-f]{17})$", id))])
    error_message = "Every instance_ids entry must be an EC2 instance id: i- and 8 or 17 lower-case hex digits, like i-0123456789abcdef0."
  }
}

variable "zone_id" {
  description = "The simple form: the Route53 hosted zone id that holds record_names."
  type        = string
  default     = null

  validation {
    condition     = var.zone_id == null || can(regex("^(/hostedzone/)?[A-Z0-9]{1,32}$", var.zone_id))
    error_message = "zone_id must be a Route53 hosted zone id: upper-case letters and digits, like Z0123456789ABCDEFGHIJ."
  }
}

variable "record_names" {
  description = "The simple form: the record name(s) in zone_id to keep pointed at instance_ids, such as [\"app.example.com\"]. Each gets an A record with var.ttl."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([for n in var.record_names : length(trimsuffix(n, ".")) <= 253 && can(regex(
      "^(\\*|[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)(\\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\\.?$",
    replace(n, "\\052", "*"))) && strcontains(trimsuffix(n, "."), ".")])
    error_message = "Every record_names entry must be a fully qualified DNS name such as app.example.com (letters, digits, - and _; a * only as the whole leftmost label)."
  }
  validation {
    condition = (
      (length(var.instance_ids) == 0 && var.zone_id == null && length(var.record_names) == 0) ||
      (length(var.instance_ids) > 0 && var.zone_id != null && length(var.record_names) > 0)
    )
    error_message = "The simple form needs all three of instance_ids, zone_id and record_names, or none of them (use records instead)."
  }
  validation {
    condition     = length(var.instance_ids) <= 1 || length(var.instance_ids) == length(var.record_names)
    error_message = "With several instance_ids, give exactly one record name per instance id (they pair in order). A record can follow only one instance."
  }
}

variable "ttl" {
  description = "Default TTL in seconds of the records the function writes (DDNS_TTL). A short TTL makes a new address visible sooner."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.ttl >= 1 && var.ttl <= 86400 && floor(var.ttl) == var.ttl
    error_message = "ttl must be a whole number of seconds from 1 to 86400."
  }
}

variable "on_stop" {
  description = "What the function does with an instance's records when it stops (DDNS_ON_STOP): \"delete\" them, so that a released address does not keep receiving your traffic, or \"keep\" them until it runs again. A terminated instance's records are deleted either way."
  type        = string
  default     = "delete"
  nullable    = false

  validation {
    condition     = contains(["delete", "keep"], var.on_stop)
    error_message = "on_stop must be \"delete\" or \"keep\"."
  }
}

variable "owner_id" {
  description = "The owner named in the TXT ownership markers (\"_ddns-owner.<name>\") that the function keeps beside each record it manages, so that it never takes over a record it did not create (DDNS_OWNER_ID). null (the default) makes one no other deployment has: \"<name_prefix>.<region>.<account>\"; markers that earlier versions wrote under name_prefix are then taken over. An explicit owner_id must differ between deployments that share a zone."
  type        = string
  default     = null

  validation {
    condition     = var.owner_id == null || can(regex("^[a-zA-Z0-9_.-]{1,64}$", var.owner_id))
    error_message = "owner_id must be 1 to 64 letters, digits, _ . or -."
  }
}

# ---------------------------------------------------------------------------------------------
# Fleet mode and groups (optional): instances opt in with a tag instead of being listed
# ---------------------------------------------------------------------------------------------

variable "tag_key" {
  description = <<-EOT
    Turns on fleet mode: every instance carrying this tag (such as "ddns:name") gets a record
    named by the tag's value, in one of discovery_zone_ids, and a rule for tag changes wakes
    the function. null (the default) turns fleet mode off.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.tag_key == null || (can(regex("^[a-zA-Z0-9 _.:/=+@-]{1,128}$", var.tag_key)) && !startswith(coalesce(var.tag_key, "-"), "aws:"))
    error_message = "tag_key must be a valid EC2 tag key of 1 to 128 characters (letters, digits, spaces and _ . : / = + - @), not starting with aws:."
  }
}

variable "group_tag_key" {
  description = <<-EOT
    Turns on groups (DDNS_GROUP_TAG_KEY), with or without tag_key: every instance carrying this
    tag (such as "ddns:group") adds its address to each name in the tag's value
    (comma-separated), one record set per name holding every running member's address, so an
    Auto Scaling group's launch template can tag its instances with one name. The names obey
    the same zones, suffixes and wildcard rules as tag_key's; in either tag's value, {id} and
    {az} stand for the instance id and its availability zone. Must differ from tag_key. null
    (the default) turns groups off.
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.group_tag_key == null || (can(regex("^[a-zA-Z0-9 _.:/=+@-]{1,128}$", var.group_tag_key)) && !startswith(coalesce(var.group_tag_key, "-"), "aws:"))
    error_message = "group_tag_key must be a valid EC2 tag key of 1 to 128 characters (letters, digits, spaces and _ . : / = + - @), not starting with aws:."
  }
  validation {
    condition     = var.group_tag_key == null || var.group_tag_key != var.tag_key
    error_message = "group_tag_key must differ from tag_key: one tag names an instance's own records, the other the groups it joins (say ddns:name and ddns:group)."
  }
}

variable "group_max" {
  description = "Groups: the most addresses one group's record set holds (DDNS_GROUP_MAX), for tagged groups and records[].instance_ids alike. With more members running, the lowest instance ids are kept. The default 8 keeps a DNS answer under 512 bytes, past which resolvers fall back to TCP."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = var.group_max >= 1 && var.group_max <= 400 && floor(var.group_max) == var.group_max
    error_message = "group_max must be a whole number from 1 to 400."
  }
}

variable "discovery_zone_ids" {
  description = "Fleet mode: the hosted zones a tag may name records in (DDNS_ZONES), public or private. The function refuses names outside them, and the IAM policy grants no other zone. A public and a private zone of the same domain make split-horizon: a tagged name goes into both, with the address tag_address picks for each."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for z in var.discovery_zone_ids : can(regex("^(/hostedzone/)?[A-Z0-9]{1,32}$", z))])
    error_message = "Every discovery_zone_ids entry must be a Route53 hosted zone id: upper-case letters and digits."
  }
  validation {
    condition     = (var.tag_key == null && var.group_tag_key == null) || length(var.discovery_zone_ids) > 0
    error_message = "Fleet mode (tag_key) and groups (group_tag_key) need at least one zone in discovery_zone_ids."
  }
}

variable "tag_suffixes" {
  description = "Fleet mode: when set, a tagged name must lie below one of these domains (DDNS_TAG_SUFFIXES), such as [\"dyn.example.com\"], and the IAM policy allows tagged names only there (*.dyn.example.com). Give fleet mode a subdomain of its own: anyone who may tag an instance may claim any free name the suffixes allow."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([for s in var.tag_suffixes : can(regex(
      "^[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(\\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)+\\.?$", s
    ))])
    error_message = "Every tag_suffixes entry must be a domain such as dyn.example.com (no wildcard)."
  }
}

variable "tag_anywhere" {
  description = "Fleet mode without tag_suffixes: let tags name records anywhere in discovery_zone_ids' zones. The role may then write A, AAAA and TXT records at any name below the zones (_acme-challenge, _dmarc, www, ...), so this is an explicit opt-in; give tag_suffixes instead where you can."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = (var.tag_key == null && var.group_tag_key == null) || length(var.tag_suffixes) > 0 || var.tag_anywhere
    error_message = "Fleet mode (tag_key) and groups (group_tag_key) need tag_suffixes, such as [\"dyn.example.com\"], so that tags can name records only below them. To let tags name records anywhere in the zones (the role may then write any name there), set tag_anywhere = true."
  }
  validation {
    condition     = !var.tag_anywhere || length(var.tag_suffixes) == 0
    error_message = "tag_anywhere and tag_suffixes exclude each other: the suffixes already say where tags may name records."
  }
}

variable "tag_allow_wildcards" {
  description = "Fleet mode: let tags claim zone apexes and wildcard names (DDNS_TAG_ALLOW_WILDCARDS). Off by default: a tag on any instance could otherwise point example.com or *.example.com at it."
  type        = bool
  default     = false
  nullable    = false
}

variable "tag_address" {
  description = "Fleet mode: which IPv4 address tagged names' A records hold (DDNS_TAG_ADDRESS): \"auto\" (by the zone's type: the public address in a public zone, the private one in a private zone), \"public\" or \"private\". AAAA records hold the primary IPv6 in either."
  type        = string
  default     = "auto"
  nullable    = false

  validation {
    condition     = contains(["auto", "public", "private"], var.tag_address)
    error_message = "tag_address must be \"auto\" (by the zone's type), \"public\" or \"private\"."
  }
}

variable "discovery_record_types" {
  description = "Fleet mode: the record types written for tagged instances (DDNS_TAG_TYPES)."
  type        = list(string)
  default     = ["A"]
  nullable    = false

  validation {
    condition     = length(var.discovery_record_types) > 0 && alltrue([for t in var.discovery_record_types : contains(["A", "AAAA"], t)])
    error_message = "discovery_record_types must be a non-empty list of \"A\" and/or \"AAAA\"."
  }
}

# ---------------------------------------------------------------------------------------------
# Webhook (optional)
# ---------------------------------------------------------------------------------------------

variable "webhook_enabled" {
  description = "Send alerts to a webhook. The URL itself is webhook_url, an ephemeral input: give it (TF_VAR_webhook_url, say) on the first apply and whenever webhook_version is raised; other runs need not."
  type        = bool
  default     = false
  nullable    = false
}

variable "webhook_url" {
  description = <<-EOT
    Where to POST alerts (Slack, Discord or any https endpoint). Ephemeral and write-only: it is
    stored as an SSM SecureString and is in no plan, state or variables file; the function gets
    only the parameter's name. Needed with webhook_enabled when the parameter is created or webhook_version changes.
  EOT
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    # The message never repeats the value: a webhook URL often carries its own token.
    condition     = var.webhook_url == null || can(regex("^https://[^/?#@[:space:]]+(/[^[:space:]]*)?$", var.webhook_url))
    error_message = "webhook_url must be an https:// URL without spaces (the value is not shown here because it may hold a token)."
  }
}

variable "webhook_signed" {
  description = "Sign webhook bodies with webhook_secret (HMAC-SHA256)."
  type        = bool
  default     = false
  nullable    = false

  validation {
    condition     = !var.webhook_signed || var.webhook_enabled
    error_message = "webhook_signed needs webhook_enabled: the secret only signs webhook bodies."
  }
}

variable "webhook_secret" {
  description = "Shared secret with which the function signs webhook bodies (HMAC-SHA256), so the receiver can check them. Ephemeral and write-only like webhook_url; needed with webhook_signed when the parameter is created or webhook_secret_version changes."
  type        = string
  default     = null
  sensitive   = true
  ephemeral   = true

  validation {
    condition     = var.webhook_secret == null || try(length(var.webhook_secret) >= 16 && length(var.webhook_secret) <= 4096, false)
    error_message = "webhook_secret must be 16 to 4096 characters long."
  }
}

variable "webhook_format" {
  description = "The body shape of webhook notes (DDNS_WEBHOOK_FORMAT): \"json\", \"slack\" or \"discord\". null lets the function choose from the URL's host."
  type        = string
  default     = null

  validation {
    condition     = var.webhook_format == null || contains(["json", "slack", "discord"], coalesce(var.webhook_format, "json"))
    error_message = "webhook_format must be \"json\", \"slack\" or \"discord\"."
  }
}

variable "webhook_version" {
  description = <<-EOT
    Raise this number, with the new webhook_url, to write a changed URL. It is write-only, so
    Terraform cannot see that its value changed; deploy.sh raises it whenever you give one.
  EOT
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.webhook_version >= 1 && floor(var.webhook_version) == var.webhook_version
    error_message = "webhook_version must be a whole number from 1."
  }
}

variable "webhook_secret_version" {
  description = "Raise this number, with the new webhook_secret, to write a changed secret; like webhook_version, kept apart so that one value can change without the other."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.webhook_secret_version >= 1 && floor(var.webhook_secret_version) == var.webhook_secret_version
    error_message = "webhook_secret_version must be a whole number from 1."
  }
}

# ---------------------------------------------------------------------------------------------
# The function
# ---------------------------------------------------------------------------------------------

variable "zip_path" {
  description = "Path of the deployment zip that build.sh makes: $${CARGO_TARGET_DIR:-target}/lambda/dynamic-dns-updater/bootstrap.zip. It must hold an executable named bootstrap built for var.architecture."
  type        = string
  nullable    = false

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "zip_path must name a .zip file, such as target/lambda/dynamic-dns-updater/bootstrap.zip (run ./build.sh to make it)."
  }
}

variable "architecture" {
  description = "Instruction set of the function: \"arm64\" (Graviton: cheaper per ms) or \"x86_64\". It must match the zip (./build.sh builds arm64; ./build.sh --x86-64 the other)."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB. 128 is plenty: it only calls AWS APIs."
  type        = number
  default     = 128
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 128 to 10240."
  }
}

variable "timeout" {
  description = "Timeout of one invocation in seconds (also DDNS_TIMEOUT, the budget the function works to when the runtime's deadline cannot be trusted). Route53 changes and a webhook call fit well within the default."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.timeout >= 3 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 3 to 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the function. null (the default) reserves none: accounts still at the default quota of 10 cannot reserve any. Set 1 or 2 to cap it."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 0 && floor(var.reserved_concurrency) == var.reserved_concurrency, false)
    error_message = "reserved_concurrency must be null or a whole number from 0."
  }
}

variable "log_level" {
  description = "The function's RUST_LOG filter, such as \"info\" or \"info,dynamic_dns_updater=debug\"."
  type        = string
  default     = "info"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9_:=,.-]+$", var.log_level))
    error_message = "log_level must be a RUST_LOG filter such as \"info\" or \"warn,dynamic_dns_updater=debug\"."
  }
}

# ---------------------------------------------------------------------------------------------
# Triggers and operations
# ---------------------------------------------------------------------------------------------

variable "schedule_expression" {
  description = "How often the function reconciles every record, as a safety net for missed events: an EventBridge rate() or cron() expression."
  type        = string
  default     = "rate(1 minute)"
  nullable    = false

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^()]+\\))$", var.schedule_expression))
    error_message = "schedule_expression must be rate(N unit) or cron(...), such as \"rate(1 minute)\" or \"rate(5 minutes)\"."
  }
}

variable "ddns_api_call_events" {
  description = <<-EOT
    Add a rule for the EC2 API calls that change a running instance's address (AssociateAddress,
    DisassociateAddress, AssignIpv6Addresses, UnassignIpv6Addresses: "AWS API Call via
    CloudTrail"), so that its records follow at once. CloudTrail events reach EventBridge only
    from an account with a trail recording management events, and AWS delivers them best effort:
    without a trail the rule never fires, and the schedule stays the safety net.
  EOT
  type        = bool
  default     = true
  nullable    = false
}

variable "ddns_spot_interruption_events" {
  description = "Add a rule for EC2 Spot Instance Interruption Warnings, so that a followed Spot instance's records go two minutes before EC2 takes it (as at stopping or shutting-down; DDNS_ON_STOP decides for stop and hibernate). EC2 sends them without any trail."
  type        = bool
  default     = true
  nullable    = false
}

variable "log_retention_days" {
  description = "Days the function's logs are kept. 1 (the default, as in the original deployment) keeps cost near nothing; 0 keeps them forever."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs allows: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "max_retry_attempts" {
  description = "Retries of a failed asynchronous invocation (0 to 2) before the event goes to the failure queue."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = contains([0, 1, 2], var.max_retry_attempts)
    error_message = "max_retry_attempts must be 0, 1 or 2."
  }
}

variable "max_event_age_seconds" {
  description = "Age after which an undelivered event is given up and sent to the failure queue (60 to 21600 seconds). The schedule repairs what a lost event missed."
  type        = number
  default     = 3600
  nullable    = false

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 21600 && floor(var.max_event_age_seconds) == var.max_event_age_seconds
    error_message = "max_event_age_seconds must be a whole number from 60 to 21600."
  }
}

variable "alert_repeat" {
  description = "How often a problem that stays open is alerted again (DDNS_ALERT_REPEAT): a duration such as 30m, 6h or 1d; 0 for never."
  type        = string
  default     = "6h"
  nullable    = false

  validation {
    condition     = can(regex("^(0|[0-9]+[smhd]?)$", var.alert_repeat))
    error_message = "alert_repeat must be a duration such as 30m, 6h or 1d, or 0."
  }
}

variable "alert_on" {
  description = "Which webhook alerts are sent (DDNS_ALERT_ON): \"all\" (records that changed, and problems) or \"problems\" (only problems, their reminders and their recoveries: no alert for records that merely changed, which a busy group does often)."
  type        = string
  default     = "all"
  nullable    = false

  validation {
    condition     = contains(["all", "problems"], var.alert_on)
    error_message = "alert_on must be \"all\" or \"problems\"."
  }
}

variable "alarm_email" {
  description = "An e-mail address the alarms notify: the module creates an SNS topic and subscribes it (AWS sends a confirmation mail first). null for none. The topic is encrypted with kms_key_arn when given (its key policy must let CloudWatch use it), else not at all: CloudWatch cannot publish to a topic under the AWS-managed key alias/aws/sns."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@[:space:]]+@[^@[:space:]]+\\.[^@[:space:]]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address, such as ops@example.com."
  }
}

variable "alarm_actions" {
  description = "ARNs (SNS topics, usually) the alarms notify, besides alarm_email's topic. With neither, the alarms only show in the console."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "Every alarm_actions entry must be an ARN, such as arn:aws:sns:us-east-1:123456789012:alerts."
  }
}

variable "create_alarms" {
  description = "Create the CloudWatch alarms (and, with alarm_email, their SNS topic). false leaves alarming to you; the outputs name the metrics' dimensions."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard of the function's metrics."
  type        = bool
  default     = true
  nullable    = false
}

variable "release_on_destroy" {
  description = "When the stack is destroyed, invoke the function with {\"action\": \"release\"} to delete every DNS record and marker it owns, after its triggers are gone; if that fails, the destroy stops. false leaves the records in place on destroy, pointing at addresses the instances may no longer hold. Changing it runs no release: only a destroy does. It acts once applied: a destroy follows the value in the state, so `terraform destroy -var release_on_destroy=false` on a stack applied with true still releases (apply false first)."
  type        = bool
  default     = true
  nullable    = false
}

variable "detect_existing" {
  description = "Look up a function, role or log group that already exists under this stack's names (deploy.sh turns it on and stops with the import commands). Needs lambda:ListFunctions, iam:ListRoles and logs:DescribeLogGroups."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  description = "Optional customer-managed KMS key for the SSM parameters, the log group, the failure queue and the function's environment. null uses AWS-managed keys. The key policy must let CloudWatch Logs use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab."
  }
}

# ---------------------------------------------------------------------------------------------
# Naming
# ---------------------------------------------------------------------------------------------

variable "function_name" {
  description = "The exact name of the Lambda function, and the prefix of every other resource's name (the role is <function_name>-<region>). Give each copy in one account its own. null uses name_prefix, its older name. It cannot change on a deployed stack: the plan stops (see terraform/README.md, Teardown)."
  type        = string
  default     = null

  validation {
    # The IAM role adds "-" and a region name (up to 14 characters) within its 64.
    condition     = var.function_name == null || can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,39}$", var.function_name))
    error_message = "function_name must be 1 to 40 letters, digits and hyphens, starting with a letter."
  }
  validation {
    condition     = var.function_name == null || var.name_prefix == "dynamic-dns-updater" || var.function_name == var.name_prefix
    error_message = "Give function_name or name_prefix (its older name), not two different names."
  }
}

variable "name_prefix" {
  description = "The older name of function_name, kept working: the exact function name when function_name is null."
  type        = string
  default     = "dynamic-dns-updater"
  nullable    = false

  validation {
    # The IAM role adds "-" and a region name (up to 14 characters) within its 64.
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{0,39}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 40 letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
