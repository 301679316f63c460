# Every policy is built with jsonencode (not aws_iam_policy_document), so it is known at plan time and
# the plan-level tests in tests/ read it back and compare its actions with what the code sends.

locals {
  table_arn        = aws_dynamodb_table.cache.arn
  active_index_arn = "${aws_dynamodb_table.cache.arn}/index/${local.active_index_name}"

  # Exactly the requests the counter function sends (src/app: apply_event, the heartbeat, reconcile),
  # on exactly the resources they name: GetItem (an instance item, the meta item) and UpdateItem (every
  # write is one conditional UpdateItem) on the table; Scan of the active index (reconcile's listing).
  # Query and base-table Scan are sent only by the rcc CLI (count, inspect), PutItem by nothing.
  counter_table_statements = [
    {
      Sid      = "CacheTableItems"
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      Resource = [local.table_arn]
    },
    {
      Sid      = "ListActiveRunners"
      Effect   = "Allow"
      Action   = ["dynamodb:Scan"]
      Resource = [local.active_index_arn]
    },
  ]

  counter_policy = {
    Version = "2012-10-17"
    Statement = concat(local.counter_table_statements, [
      # DescribeInstances supports no resource-level permissions; it is the only action on "*" here.
      {
        Sid      = "DescribeInstances"
        Effect   = "Allow"
        Action   = ["ec2:DescribeInstances"]
        Resource = ["*"]
      },
      {
        Sid      = "OwnLogGroup"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.counter.arn}:*"]
      },
      {
        Sid      = "DeadLetterQueue"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [aws_sqs_queue.dead_letter.arn]
      },
      ], var.kms_key_arn == null ? [] : [
      {
        Sid       = "CacheTableKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        Resource  = [var.kms_key_arn]
        Condition = { StringLike = { "kms:ViaService" = "dynamodb.*.amazonaws.com" } }
      },
    ])
  }

  # What a scale-up sends to read the cache (docs/table-contract.md section 4): GetItem of the meta item
  # on the table and Query of the active index. ec2:DescribeInstances for the stale fallback is not
  # included: the scale-up's own role already has it.
  scale_up_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadCacheMeta"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem"]
        Resource = [local.table_arn]
      },
      {
        Sid      = "CountActiveRunners"
        Effect   = "Allow"
        Action   = ["dynamodb:Query"]
        Resource = [local.active_index_arn]
      },
      ], var.kms_key_arn == null ? [] : [
      {
        Sid       = "CacheTableKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:DescribeKey"]
        Resource  = [var.kms_key_arn]
        Condition = { StringLike = { "kms:ViaService" = "dynamodb.*.amazonaws.com" } }
      },
    ])
  }
}

locals {
  # What a scale-up sends to write (docs/table-contract.md sections 7 and 8): UpdateItem for launch
  # registration and the slot lease's grant and release, GetItem of the lease before each grant.
  # Only items of instances ("i-...") and slot leases ("#lease#..."): never the meta item.
  scale_up_write_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid       = "RegisterLaunchesAndSlots"
        Effect    = "Allow"
        Action    = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        Resource  = [local.table_arn]
        Condition = { "ForAllValues:StringLike" = { "dynamodb:LeadingKeys" = ["i-*", "#lease#*"] } }
      },
      ], var.kms_key_arn == null ? [] : [
      {
        Sid       = "CacheTableKey"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
        Resource  = [var.kms_key_arn]
        Condition = { StringLike = { "kms:ViaService" = "dynamodb.*.amazonaws.com" } }
      },
    ])
  }
}

resource "aws_iam_role" "counter" {
  name                 = local.limited_names.function
  path                 = local.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
  tags = merge(var.tags, { Name = local.limited_names.function })
}

resource "aws_iam_role_policy" "counter" {
  name   = local.limited_names.policy
  role   = aws_iam_role.counter.name
  policy = jsonencode(local.counter_policy)
}

# The two policies below need Resource "*" (X-Ray and ENI actions take no resource ARN). Each exists
# only when its feature is enabled.
resource "aws_iam_role_policy" "xray" {
  count = local.tracing_enabled ? 1 : 0
  name  = local.limited_names.policy_xray
  role  = aws_iam_role.counter.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "XRayTracing"
      Effect   = "Allow"
      Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      Resource = ["*"]
    }]
  })
}

resource "aws_iam_role_policy" "vpc" {
  count = local.vpc_enabled ? 1 : 0
  name  = local.limited_names.policy_vpc
  role  = aws_iam_role.counter.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "VpcNetworkInterfaces"
      Effect = "Allow"
      Action = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      Resource = ["*"]
    }]
  })
}

# Resource policy of the dead-letter queue: only the two rules of this module may send to it.
locals {
  dead_letter_queue_policy = {
    Version = "2012-10-17"
    Statement = [{
      Sid       = "EventBridgeDeadLetters"
      Effect    = "Allow"
      Action    = ["sqs:SendMessage"]
      Resource  = [aws_sqs_queue.dead_letter.arn]
      Principal = { Service = "events.amazonaws.com" }
      Condition = {
        ArnEquals = {
          "aws:SourceArn" = [aws_cloudwatch_event_rule.ec2_state_change.arn, aws_cloudwatch_event_rule.schedule.arn]
        }
      }
    }]
  }
}
