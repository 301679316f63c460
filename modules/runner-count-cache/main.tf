locals {
  name = "${var.prefix}-runner-count-cache"

  # Every derived name within its service's limit: kept as is when it fits, else cut and ended with
  # "-" and 8 hex digits of its md5, as terraform-aws-github-runner names its roles and functions, so
  # two long prefixes that share a beginning still get distinct names.
  limited_names = {
    for key, spec in {
      function    = { name = local.name, max = 64 }                # Lambda function and IAM role
      rule_ec2    = { name = "${local.name}-ec2-state", max = 64 } # EventBridge rule
      rule_tick   = { name = "${local.name}-schedule", max = 64 }
      queue       = { name = "${local.name}-dlq", max = 80 }      # SQS queue
      policy      = { name = "${local.name}-counter", max = 128 } # IAM inline policies
      policy_xray = { name = "${local.name}-xray", max = 128 }
      policy_vpc  = { name = "${local.name}-vpc", max = 128 }
      alarm       = { name = "${local.name}-dlq-not-empty", max = 255 }
    } : key => length(spec.name) <= spec.max ? spec.name : "${substr(spec.name, 0, spec.max - 9)}-${substr(md5(spec.name), 0, 8)}"
  }

  # One environment or several (multi-runner); the function reads them joined with ','.
  environments = try(tolist(var.environment_filter), [tostring(var.environment_filter)])

  # terraform-aws-github-runner's log levels onto the four the function knows.
  function_log_level = lookup({ silly = "debug", trace = "debug", fatal = "error" }, var.log_level, var.log_level)

  role_path = var.role_path == null ? "/${var.prefix}/" : var.role_path

  # The reader and the counter query this index by name (docs/table-contract.md, section 2); it is fixed, not an input.
  active_index_name = "active"

  # Null lambda_zip means the zip packaged in this repository's build/ tree by
  # `cmake --build build --target lambda-package` (x86_64) or `lambda-package-arm64`.
  use_s3     = var.lambda_s3_bucket != null
  lambda_zip = var.lambda_zip != null ? var.lambda_zip : "${path.module}/../../build/lambda-package/runner-count-cache-${var.lambda_architecture}.zip"

  vpc_enabled     = length(var.lambda_subnet_ids) > 0
  tracing_enabled = var.tracing_config.mode != null
}

resource "aws_dynamodb_table" "cache" {
  name                        = local.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "active_key"
    type = "S"
  }

  # Sparse: only active instance items carry active_key, so the index holds exactly the active runners.
  global_secondary_index {
    name            = local.active_index_name
    hash_key        = "active_key"
    projection_type = "KEYS_ONLY"
  }

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  # Without a CMK the table keeps DynamoDB's default encryption with an AWS owned key.
  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = local.name })
}

resource "aws_cloudwatch_log_group" "counter" {
  name              = "/aws/lambda/${local.limited_names.function}"
  retention_in_days = var.logging_retention_in_days
  kms_key_id        = var.logging_kms_key_id
  log_group_class   = var.log_class
  tags              = merge(var.tags, { Name = "/aws/lambda/${local.limited_names.function}" })
}

resource "aws_lambda_function" "counter" {
  function_name = local.limited_names.function
  description   = "Keeps the count of active GitHub runners per key in DynamoDB from EC2 state-change events."
  role          = aws_iam_role.counter.arn
  handler       = "bootstrap"
  runtime       = "provided.al2023"
  architectures = [var.lambda_architecture]
  memory_size   = var.lambda_memory_size
  timeout       = var.lambda_timeout

  filename          = local.use_s3 ? null : local.lambda_zip
  s3_bucket         = var.lambda_s3_bucket
  s3_key            = var.lambda_s3_key
  s3_object_version = var.lambda_s3_object_version
  # fileexists keeps `terraform validate` and a plan without a built zip free of a raw file error;
  # the precondition below then reports the missing zip with the command that builds it.
  source_code_hash = local.use_s3 ? null : (fileexists(local.lambda_zip) ? filebase64sha256(local.lambda_zip) : null)

  environment {
    variables = {
      RUNNER_COUNT_CACHE_TABLE_NAME         = aws_dynamodb_table.cache.name
      RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS = tostring(var.cache_stale_threshold_ms)
      ENVIRONMENT_FILTER                    = join(",", local.environments)
      RECONCILE_INTERVAL_S                  = tostring(var.reconcile_interval_minutes * 60)
      TTL_SECONDS                           = tostring(var.ttl_seconds)
      LOG_LEVEL                             = local.function_log_level
      METRICS_NAMESPACE                     = var.metrics_namespace
      LOOKUP_UNREGISTERED                   = tostring(var.lookup_unregistered_instances)
    }
  }

  dynamic "vpc_config" {
    for_each = local.vpc_enabled ? [true] : []
    content {
      subnet_ids         = var.lambda_subnet_ids
      security_group_ids = var.lambda_security_group_ids
    }
  }

  dynamic "tracing_config" {
    for_each = local.tracing_enabled ? [var.tracing_config.mode] : []
    content {
      mode = tracing_config.value
    }
  }

  tags = merge(var.tags, var.lambda_tags, { Name = local.limited_names.function })

  lifecycle {
    precondition {
      condition     = !(var.lambda_zip != null && var.lambda_s3_bucket != null)
      error_message = "Set either lambda_zip or lambda_s3_bucket/lambda_s3_key, not both."
    }
    precondition {
      condition     = (var.lambda_s3_bucket == null) == (var.lambda_s3_key == null)
      error_message = "lambda_s3_bucket and lambda_s3_key must be set together."
    }
    precondition {
      condition     = var.lambda_s3_object_version == null || local.use_s3
      error_message = "lambda_s3_object_version is only valid together with lambda_s3_bucket and lambda_s3_key."
    }
    precondition {
      condition     = local.use_s3 || fileexists(local.lambda_zip)
      error_message = "The function zip ${local.lambda_zip} does not exist. The module deploys a built zip and never compiles; a module used through git:: or a registry has none. In a checkout of runner-count-cache, build it with `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build --target ${var.lambda_architecture == "arm64" ? "lambda-package-arm64" : "lambda-package"}`, which writes build/lambda-package/runner-count-cache-${var.lambda_architecture}.zip (the default path when the module is used from that checkout); otherwise set lambda_zip to that file, or upload it to S3 and set lambda_s3_bucket and lambda_s3_key."
    }
    precondition {
      condition     = (length(var.lambda_subnet_ids) > 0) == (length(var.lambda_security_group_ids) > 0)
      error_message = "lambda_subnet_ids and lambda_security_group_ids must be set together (both empty runs the function outside a VPC)."
    }
  }

  # The log group must exist before the first invocation writes to it, and the role's permissions
  # (including the ENI permissions of a VPC function) before Lambda validates them.
  depends_on = [
    aws_cloudwatch_log_group.counter,
    aws_iam_role_policy.counter,
    aws_iam_role_policy.vpc,
    aws_iam_role_policy.xray,
  ]
}

# A function error that survives Lambda's retries, or an event older than the maximum age, lands in
# the dead-letter queue instead of being dropped; reconcile repairs the count meanwhile.
resource "aws_lambda_function_event_invoke_config" "counter" {
  function_name                = aws_lambda_function.counter.function_name
  maximum_retry_attempts       = var.lambda_maximum_retry_attempts
  maximum_event_age_in_seconds = var.lambda_maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.dead_letter.arn
    }
  }

  # Lambda checks at configuration time that the role may send to the destination.
  depends_on = [aws_iam_role_policy.counter]
}

resource "aws_sqs_queue" "dead_letter" {
  name                      = local.limited_names.queue
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = merge(var.tags, { Name = local.limited_names.queue })
}

# EventBridge sends an event it could not deliver to the function (after its own retries) here too.
resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = jsonencode(local.dead_letter_queue_policy)
}

resource "aws_cloudwatch_metric_alarm" "dead_letter" {
  alarm_name          = local.limited_names.alarm
  alarm_description   = "Events the runner count cache could not apply are waiting in ${aws_sqs_queue.dead_letter.name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_sns_topic_arns
  ok_actions          = var.alarm_sns_topic_arns
  tags                = merge(var.tags, { Name = local.limited_names.alarm })
}
