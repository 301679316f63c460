output "dynamodb_table" {
  description = "The cache table."
  value       = module.runner_count_cache.dynamodb_table
}

output "lambda_function" {
  description = "The counter function."
  value       = module.runner_count_cache.lambda_function
}

output "eventbridge_rule" {
  description = "The EC2 state-change rule."
  value       = module.runner_count_cache.eventbridge_rule
}

output "cache_config" {
  description = "Environment variables a cache-aware scale-up sets."
  value       = module.runner_count_cache.cache_config
}

output "lambda_role" {
  description = "The counter's IAM role."
  value       = module.runner_count_cache.lambda_role
}

output "dead_letter_queue" {
  description = "The dead-letter queue."
  value       = module.runner_count_cache.dead_letter_queue
}

output "scale_up_policy_json" {
  description = "IAM policy a scale-up role attaches to read the cache."
  value       = module.runner_count_cache.scale_up_policy_json
}
