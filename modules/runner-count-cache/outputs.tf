output "dynamodb_table" {
  description = "The cache table."
  value = {
    name = aws_dynamodb_table.cache.name
    arn  = aws_dynamodb_table.cache.arn
  }
}

output "lambda_function" {
  description = "The counter function."
  value = {
    name = aws_lambda_function.counter.function_name
    arn  = aws_lambda_function.counter.arn
  }
}

output "eventbridge_rule" {
  description = "The EventBridge rule that routes EC2 instance state changes to the counter."
  value = {
    name = aws_cloudwatch_event_rule.ec2_state_change.name
    arn  = aws_cloudwatch_event_rule.ec2_state_change.arn
  }
}

output "cache_config" {
  description = "Environment variables a cache-aware scale-up sets to read the cache (all values are strings)."
  value = {
    RUNNER_COUNT_CACHE_TABLE_NAME         = aws_dynamodb_table.cache.name
    RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS = tostring(var.cache_stale_threshold_ms)
    RUNNER_COUNT_CACHE_INDEX_NAME         = local.active_index_name
    # A reader also treats the cache as stale when no reconcile finished within 3 intervals.
    RECONCILE_INTERVAL_S = tostring(var.reconcile_interval_minutes * 60)
  }
}

output "lambda_role" {
  description = "The counter function's IAM role."
  value = {
    name = aws_iam_role.counter.name
    arn  = aws_iam_role.counter.arn
  }
}

output "dead_letter_queue" {
  description = "The SQS queue that keeps events the counter could not apply."
  value = {
    name = aws_sqs_queue.dead_letter.name
    arn  = aws_sqs_queue.dead_letter.arn
    url  = aws_sqs_queue.dead_letter.url
  }
}

output "scale_up_policy_json" {
  description = "Least-privilege IAM policy (JSON) a scale-up role attaches to read the cache."
  value       = jsonencode(local.scale_up_policy)
}

output "scale_up_write_policy_json" {
  description = "IAM policy (JSON) a scale-up role attaches as well when it registers its launches or takes slots (rcc register, rcc slots, registerLaunches, takeSlots): UpdateItem and GetItem on instance and lease items only."
  value       = jsonencode(local.scale_up_write_policy)
}
