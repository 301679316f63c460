output "cache_config" {
  description = "Environment variables every configuration's scale-up sets (the same map for all)."
  value       = module.runner_count_cache.cache_config
}

output "environments" {
  description = "The environments the cache counts (ENVIRONMENT_FILTER)."
  value       = local.environments
}
