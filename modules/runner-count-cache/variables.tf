# The module's six original inputs come first, with their published names, descriptions and defaults;
# the rest follow the conventions of terraform-aws-github-runner (description, type, default, validation).

variable "prefix" {
  description = "The prefix used for naming resources"
  type        = string

  validation {
    # No length cap of its own: a derived name longer than its service allows is truncated with a
    # hash suffix (main.tf), as terraform-aws-github-runner does. 200 keeps the table name and the role
    # path within their limits.
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$", var.prefix))
    error_message = "prefix must be 1-200 characters of letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "environment_filter" {
  description = "The environment tag value to filter EC2 instances"
  # A string, or a list of strings for one deployment serving several runner configurations
  # (terraform-aws-github-runner's multi-runner: one environment "<prefix>-<key>" per configuration).
  type = any

  validation {
    condition = (
      can(tostring(var.environment_filter)) ? true :
      can(tolist(var.environment_filter)) && try(length(var.environment_filter) >= 1 && length(var.environment_filter) <= 200, false)
    )
    error_message = "environment_filter must be a string or a list of 1 to 200 strings."
  }

  validation {
    # Each value becomes the first part of the cache key "<environment>#<type>#<owner>", and the
    # function receives the list joined with ',' (ENVIRONMENT_FILTER).
    condition = alltrue([
      for e in try(tolist(var.environment_filter), [tostring(var.environment_filter)], []) :
      can(regex("^[^#,\\s]([^#,]{0,254}[^#,\\s])?$", e))
    ])
    error_message = "Every environment_filter value must be a tag value of 1-256 characters without '#' or ',' and without leading or trailing whitespace."
  }

  validation {
    condition     = length(distinct(try(tolist(var.environment_filter), [var.environment_filter]))) == length(try(tolist(var.environment_filter), [var.environment_filter]))
    error_message = "environment_filter must not repeat a value."
  }
}

variable "tags" {
  description = "Map of tags to add to resources"
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Optional CMK Key ARN for DynamoDB encryption"
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); aliases cannot scope IAM permissions."
  }
}

variable "cache_stale_threshold_ms" {
  description = "Max age before cache is considered stale"
  type        = number
  default     = 60000

  validation {
    condition     = var.cache_stale_threshold_ms > 0 && floor(var.cache_stale_threshold_ms) == var.cache_stale_threshold_ms
    error_message = "cache_stale_threshold_ms must be a positive whole number of milliseconds."
  }
}

variable "ttl_seconds" {
  description = "TTL for DynamoDB items in seconds"
  type        = number
  default     = 86400

  validation {
    condition     = var.ttl_seconds > 0 && floor(var.ttl_seconds) == var.ttl_seconds
    error_message = "ttl_seconds must be a positive whole number of seconds."
  }
}

variable "lookup_unregistered_instances" {
  description = "Whether the counter looks up in EC2 (DescribeInstances by id) an instance nobody registered, on its first event. Set false when every scale-up of the environments registers its launches (scale_up_write_policy_json): instances of the account that are not runners then cost no EC2 request, and reconcile counts any runner that was not registered."
  type        = bool
  default     = true
  nullable    = false
}

variable "lambda_zip" {
  description = "Path to the counter function's zip. Null means the zip packaged in the repository's build tree, build/lambda-package/runner-count-cache-<lambda_architecture>.zip, relative to this module. Mutually exclusive with lambda_s3_bucket."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_zip == null || can(regex("\\.zip$", var.lambda_zip))
    error_message = "lambda_zip must be null or a path ending in .zip."
  }
}

variable "lambda_s3_bucket" {
  description = "S3 bucket holding the counter function's zip, in the function's region. Set together with lambda_s3_key; mutually exclusive with lambda_zip."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_s3_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lambda_s3_bucket))
    error_message = "lambda_s3_bucket must be null or a valid S3 bucket name."
  }
}

variable "lambda_s3_key" {
  description = "S3 key of the counter function's zip (built for lambda_architecture). Required when lambda_s3_bucket is set."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_s3_key == null ? true : length(var.lambda_s3_key) > 0
    error_message = "lambda_s3_key must be null or a non-empty S3 key."
  }
}

variable "lambda_s3_object_version" {
  description = "Object version of the zip in S3. Only valid with lambda_s3_bucket."
  type        = string
  default     = null

  validation {
    condition     = var.lambda_s3_object_version == null ? true : length(var.lambda_s3_object_version) > 0
    error_message = "lambda_s3_object_version must be null or a non-empty version id."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the counter function and of its zip: arm64 or x86_64."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the counter function in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240 && floor(var.lambda_memory_size) == var.lambda_memory_size
    error_message = "lambda_memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "lambda_timeout" {
  description = "Timeout of the counter function in seconds; a reconcile runs inside one invocation."
  type        = number
  default     = 60

  validation {
    condition     = var.lambda_timeout >= 1 && var.lambda_timeout <= 900 && floor(var.lambda_timeout) == var.lambda_timeout
    error_message = "lambda_timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "lambda_maximum_retry_attempts" {
  description = "How many times Lambda retries a failed asynchronous invocation before sending it to the dead-letter queue."
  type        = number
  default     = 2

  validation {
    condition     = var.lambda_maximum_retry_attempts >= 0 && var.lambda_maximum_retry_attempts <= 2 && floor(var.lambda_maximum_retry_attempts) == var.lambda_maximum_retry_attempts
    error_message = "lambda_maximum_retry_attempts must be 0, 1 or 2."
  }
}

variable "lambda_maximum_event_age_in_seconds" {
  description = "Maximum age of an event waiting in Lambda's asynchronous queue; an older event goes to the dead-letter queue instead of the function."
  type        = number
  default     = 3600

  validation {
    condition     = var.lambda_maximum_event_age_in_seconds >= 60 && var.lambda_maximum_event_age_in_seconds <= 21600 && floor(var.lambda_maximum_event_age_in_seconds) == var.lambda_maximum_event_age_in_seconds
    error_message = "lambda_maximum_event_age_in_seconds must be a whole number between 60 and 21600."
  }
}

variable "reconcile_interval_minutes" {
  description = "Minutes between two full reconciles of the table against EC2 (run from the one-minute schedule)."
  type        = number
  default     = 5

  validation {
    condition     = var.reconcile_interval_minutes >= 1 && var.reconcile_interval_minutes <= 1440 && floor(var.reconcile_interval_minutes) == var.reconcile_interval_minutes
    error_message = "reconcile_interval_minutes must be a whole number between 1 and 1440."
  }
}

variable "log_level" {
  description = "Logging level for lambda logging. Valid values are 'silly', 'trace', 'debug', 'info', 'warn', 'error', 'fatal' (terraform-aws-github-runner's values; the function logs silly and trace as debug, fatal as error)."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["silly", "trace", "debug", "info", "warn", "error", "fatal"], var.log_level)
    error_message = "`log_level` value not valid. Valid values are 'silly', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'."
  }
}

variable "log_class" {
  description = "The log class of the CloudWatch log group. Valid values are `STANDARD` or `INFREQUENT_ACCESS`."
  type        = string
  default     = "STANDARD"

  validation {
    condition     = contains(["STANDARD", "INFREQUENT_ACCESS"], var.log_class)
    error_message = "`log_class` must be either `STANDARD` or `INFREQUENT_ACCESS`."
  }
}

variable "lambda_tags" {
  description = "Map of tags that will be added to the lambda function resource. Note these are additional tags to the default tags."
  type        = map(string)
  default     = {}
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's Embedded Metric Format metrics."
  type        = string
  default     = "RunnerCountCache"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !can(regex("^AWS/", var.metrics_namespace))
    error_message = "metrics_namespace must be 1-255 characters of letters, digits, '.', '_', '/', '#', ':' or '-', and must not start with \"AWS/\"."
  }
}

variable "logging_retention_in_days" {
  description = "Days to keep the function's logs (0 keeps them forever)."
  type        = number
  default     = 180

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.logging_retention_in_days)
    error_message = "logging_retention_in_days must be a value CloudWatch Logs accepts: 0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "logging_kms_key_id" {
  description = "Optional KMS key ARN to encrypt the function's log group. Its key policy must allow the CloudWatch Logs service."
  type        = string
  default     = null

  validation {
    condition     = var.logging_kms_key_id == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.logging_kms_key_id))
    error_message = "logging_kms_key_id must be null or a KMS key ARN."
  }
}

variable "role_path" {
  description = "IAM path of the function's role. Null uses \"/<prefix>/\", as terraform-aws-github-runner does."
  type        = string
  default     = null

  validation {
    condition     = var.role_path == null || can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.role_path))
    error_message = "role_path must be null or an IAM path that starts and ends with '/'."
  }
}

variable "role_permissions_boundary" {
  description = "Optional ARN of the permissions boundary policy attached to the function's role."
  type        = string
  default     = null

  validation {
    condition     = var.role_permissions_boundary == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary))
    error_message = "role_permissions_boundary must be null or an IAM policy ARN."
  }
}

variable "lambda_subnet_ids" {
  description = "Subnets to run the function in. Empty runs it outside a VPC; set together with lambda_security_group_ids. The subnets need a route to DynamoDB and EC2 (NAT or VPC endpoints)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.lambda_subnet_ids : can(regex("^subnet-[0-9a-f]+$", id))])
    error_message = "lambda_subnet_ids must contain subnet ids (subnet-...)."
  }
}

variable "lambda_security_group_ids" {
  description = "Security groups of the function when it runs in a VPC; set together with lambda_subnet_ids."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.lambda_security_group_ids : can(regex("^sg-[0-9a-f]+$", id))])
    error_message = "lambda_security_group_ids must contain security group ids (sg-...)."
  }
}

variable "tracing_config" {
  description = "Configuration for lambda tracing: mode null (off), \"Active\" or \"PassThrough\". terraform-aws-github-runner's object can be passed as is; its capture_* attributes configure the Node.js tracer and are discarded here."
  type = object({
    mode = optional(string, null)
  })
  default = {}

  validation {
    condition     = var.tracing_config.mode == null ? true : contains(["Active", "PassThrough"], var.tracing_config.mode)
    error_message = "tracing_config.mode must be null, \"Active\" or \"PassThrough\"."
  }
}

variable "point_in_time_recovery" {
  description = "Enable point-in-time recovery on the table. Off by default: the table is a cache that reconcile rebuilds from EC2."
  type        = bool
  default     = false
}

variable "deletion_protection_enabled" {
  description = "Enable deletion protection on the table."
  type        = bool
  default     = false
}

variable "alarm_sns_topic_arns" {
  description = "SNS topics notified when the dead-letter queue holds messages (alarm and OK)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.alarm_sns_topic_arns : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_.-]+$", arn))])
    error_message = "alarm_sns_topic_arns must contain SNS topic ARNs."
  }
}
