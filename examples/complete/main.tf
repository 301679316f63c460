provider "aws" {
  region = var.aws_region
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  prefix = "ghr-complete"
}

# One customer managed key for the table and the function's log group. CloudWatch Logs needs the
# key policy to allow it explicitly; IAM principals of the account are allowed through the root
# statement, and the module grants the function's role what it needs on the key.
data "aws_iam_policy_document" "cache_key" {
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncrypts"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${local.prefix}-*"]
    }
  }
}

resource "aws_kms_key" "cache" {
  description         = "Runner count cache: table and log encryption"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.cache_key.json
}

resource "aws_sns_topic" "alarms" {
  name = "${local.prefix}-runner-count-cache-alarms"
}

module "runner_count_cache" {
  source = "../../modules/runner-count-cache"

  prefix             = local.prefix
  environment_filter = "production"
  tags = {
    Environment = "production"
    Team        = "ci-platform"
  }

  kms_key_arn              = aws_kms_key.cache.arn
  cache_stale_threshold_ms = 90000
  ttl_seconds              = 43200

  # Either the local zip or the S3 object, never both.
  lambda_zip               = var.lambda_s3_bucket == null ? "${path.module}/../../build/lambda-package/runner-count-cache-x86_64.zip" : null
  lambda_s3_bucket         = var.lambda_s3_bucket
  lambda_s3_key            = var.lambda_s3_key
  lambda_s3_object_version = var.lambda_s3_object_version
  lambda_architecture      = "x86_64"

  lambda_memory_size                  = 512
  lambda_timeout                      = 120
  lambda_maximum_retry_attempts       = 2
  lambda_maximum_event_age_in_seconds = 7200
  reconcile_interval_minutes          = 10
  log_level                           = "debug"
  metrics_namespace                   = "GitHubRunners/RunnerCountCache"

  logging_retention_in_days = 30
  logging_kms_key_id        = aws_kms_key.cache.arn

  role_path                 = "/github-runners/"
  role_permissions_boundary = var.role_permissions_boundary

  lambda_subnet_ids         = var.lambda_subnet_ids
  lambda_security_group_ids = var.lambda_security_group_ids
  tracing_config            = { mode = "Active" }
  log_class                 = "INFREQUENT_ACCESS"
  lambda_tags               = { CostCenter = "ci" }

  point_in_time_recovery      = true
  deletion_protection_enabled = true
  alarm_sns_topic_arns        = [aws_sns_topic.alarms.arn]
}

# How a scale-up reads the cache: attach the read policy to its role (for terraform-aws-github-runner,
# the role is module.<runners>.runners.role_scale_up) and set cache_config as its environment.
resource "aws_iam_role_policy" "scale_up_reads_cache" {
  count  = var.scale_up_role_name != null ? 1 : 0
  name   = "${local.prefix}-read-runner-count-cache"
  role   = var.scale_up_role_name
  policy = module.runner_count_cache.scale_up_policy_json
}
