provider "aws" {
  region = var.aws_region
}

# One cache for every runner configuration of terraform-aws-github-runner's multi-runner module. That
# module names each configuration's environment "${prefix}-${key}" (its ghr:environment tag), so the
# cache counts the same list; the keys below are the ones of the multi-runner module's
# multi_runner_config map.
locals {
  environments = [for key in var.runner_config_keys : "${var.multi_runner_prefix}-${key}"]
}

module "runner_count_cache" {
  source = "../../modules/runner-count-cache"

  # A long prefix is fine: derived names are truncated with a hash suffix.
  prefix             = "${var.multi_runner_prefix}-cache"
  environment_filter = local.environments
  lambda_zip         = var.lambda_zip

  cache_stale_threshold_ms = 150000
  tracing_config           = var.tracing_config
  log_level                = var.log_level
  tags                     = var.tags
}

# Every configuration's scale-up reads the same table. With the multi-runner module in the same
# configuration, pass its runners_map output: runners_map[key].role_scale_up is that configuration's
# scale-up role.
resource "aws_iam_role_policy" "scale_up_reads_cache" {
  for_each = var.runners_map
  name     = "read-runner-count-cache"
  role     = each.value.role_scale_up.name
  policy   = module.runner_count_cache.scale_up_policy_json
}
