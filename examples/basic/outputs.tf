output "cache_config" {
  description = "Environment variables a cache-aware scale-up sets."
  value       = module.runner_count_cache.cache_config
}

output "scale_up_policy_json" {
  description = "IAM policy a scale-up role attaches to read the cache."
  value       = module.runner_count_cache.scale_up_policy_json
}

output "lambda_function" {
  description = "The counter function."
  value       = module.runner_count_cache.lambda_function
}
