locals {
  name = "${var.prefix}-runner-count-cache"

  # The reader and the counter query this index by name (DESIGN 3); it is fixed, not an input.
  active_index_name = "active"

  # Null lambda_zip means the zip packaged in this repository's build/ tree by
  # `cmake --build build --target lambda-package` (x86_64) or `lambda-package-arm64`.
  use_s3     = var.lambda_s3_bucket != null
  lambda_zip = var.lambda_zip != null ? var.lambda_zip : "${path.module}/../../build/lambda-package/runner-count-cache-${var.lambda_architecture}.zip"

  vpc_enabled     = length(var.lambda_subnet_ids) > 0
  tracing_enabled = var.tracing_mode != null
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
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.logging_retention_in_days
  kms_key_id        = var.logging_kms_key_id
  tags              = merge(var.tags, { Name = "/aws/lambda/${local.name}" })
}

resource "aws_lambda_function" "counter" {
  function_name = local.name
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
      ENVIRONMENT_FILTER                    = var.environment_filter
      RECONCILE_INTERVAL_S                  = tostring(var.reconcile_interval_minutes * 60)
      TTL_SECONDS                           = tostring(var.ttl_seconds)
      LOG_LEVEL                             = var.log_level
      METRICS_NAMESPACE                     = var.metrics_namespace
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
    for_each = local.tracing_enabled ? [var.tracing_mode] : []
    content {
      mode = tracing_config.value
    }
  }

  tags = merge(var.tags, { Name = local.name })

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
      error_message = "The function zip ${local.lambda_zip} does not exist: from the repository root, build it with `cmake -S . -B build -DCMAKE_BUILD_TYPE=Release` and `cmake --build build --target lambda-package` (x86_64) or `--target lambda-package-arm64` (arm64), which write build/lambda-package/runner-count-cache-<arch>.zip; or set lambda_zip or lambda_s3_bucket/lambda_s3_key."
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
  name                      = "${local.name}-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = merge(var.tags, { Name = "${local.name}-dlq" })
}

# EventBridge sends an event it could not deliver to the function (after its own retries) here too.
resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter_queue.json
}

resource "aws_cloudwatch_metric_alarm" "dead_letter" {
  alarm_name          = "${local.name}-dlq-not-empty"
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
  tags                = merge(var.tags, { Name = "${local.name}-dlq-not-empty" })
}
