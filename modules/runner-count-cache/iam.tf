data "aws_iam_policy_document" "lambda_assume_role" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "counter" {
  name                 = local.name
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy   = data.aws_iam_policy_document.lambda_assume_role.json
  tags                 = merge(var.tags, { Name = local.name })
}

data "aws_iam_policy_document" "counter" {
  statement {
    sid    = "CacheTable"
    effect = "Allow"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
      "dynamodb:Scan",
    ]
    resources = [
      aws_dynamodb_table.cache.arn,
      "${aws_dynamodb_table.cache.arn}/index/*",
    ]
  }

  # DescribeInstances supports no resource-level permissions; it is the only action on "*" here.
  statement {
    sid       = "DescribeInstances"
    effect    = "Allow"
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"]
  }

  statement {
    sid       = "OwnLogGroup"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.counter.arn}:*"]
  }

  statement {
    sid       = "DeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [var.kms_key_arn] : []
    content {
      sid       = "CacheTableKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [statement.value]

      condition {
        test     = "StringLike"
        variable = "kms:ViaService"
        values   = ["dynamodb.*.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "counter" {
  name   = "${local.name}-counter"
  role   = aws_iam_role.counter.name
  policy = data.aws_iam_policy_document.counter.json
}

# The two statements below need Resource "*" (X-Ray and ENI actions take no resource ARN). Each
# exists only when its feature is enabled.
data "aws_iam_policy_document" "xray" {
  count = local.tracing_enabled ? 1 : 0

  statement {
    sid       = "XRayTracing"
    effect    = "Allow"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "xray" {
  count  = local.tracing_enabled ? 1 : 0
  name   = "${local.name}-xray"
  role   = aws_iam_role.counter.name
  policy = data.aws_iam_policy_document.xray[0].json
}

data "aws_iam_policy_document" "vpc" {
  count = local.vpc_enabled ? 1 : 0

  statement {
    sid    = "VpcNetworkInterfaces"
    effect = "Allow"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "vpc" {
  count  = local.vpc_enabled ? 1 : 0
  name   = "${local.name}-vpc"
  role   = aws_iam_role.counter.name
  policy = data.aws_iam_policy_document.vpc[0].json
}

# Resource policy of the dead-letter queue: only the two rules of this module may send to it.
data "aws_iam_policy_document" "dead_letter_queue" {
  statement {
    sid       = "EventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values = [
        aws_cloudwatch_event_rule.ec2_state_change.arn,
        aws_cloudwatch_event_rule.schedule.arn,
      ]
    }
  }
}

# What a scale-up needs to read the cache: the meta item (GetItem on the table) and the count
# (Query on the active index). ec2:DescribeInstances for the stale fallback is not included: the
# scale-up's own role already has it.
data "aws_iam_policy_document" "scale_up" {
  statement {
    sid       = "ReadCacheMeta"
    effect    = "Allow"
    actions   = ["dynamodb:GetItem"]
    resources = [aws_dynamodb_table.cache.arn]
  }

  statement {
    sid       = "CountActiveRunners"
    effect    = "Allow"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.cache.arn}/index/${local.active_index_name}"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [var.kms_key_arn] : []
    content {
      sid       = "CacheTableKey"
      effect    = "Allow"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = [statement.value]

      condition {
        test     = "StringLike"
        variable = "kms:ViaService"
        values   = ["dynamodb.*.amazonaws.com"]
      }
    }
  }
}
