# Plan-level tests of the module with a mocked AWS provider: no credentials, no network. ARNs are fixed
# by the mocks during plan so the rendered policies are known and can be compared exactly.

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/t" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/t" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:eu-west-1:123456789012:t-dlq" }
  }
  mock_resource "aws_cloudwatch_event_rule" {
    defaults = { arn = "arn:aws:events:eu-west-1:123456789012:rule/t" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/t" }
  }
  mock_resource "aws_lambda_function" {
    defaults = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:t" }
  }
}

variables {
  prefix             = "ghr"
  environment_filter = "prod"
  lambda_s3_bucket   = "artifacts-bucket"
  lambda_s3_key      = "runner-count-cache-arm64.zip"
}

run "single_environment" {
  command = plan

  assert {
    condition = jsonencode(aws_lambda_function.counter.environment[0].variables) == jsonencode({
      RUNNER_COUNT_CACHE_TABLE_NAME         = "ghr-runner-count-cache"
      RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS = "60000"
      ENVIRONMENT_FILTER                    = "prod"
      RECONCILE_INTERVAL_S                  = "300"
      TTL_SECONDS                           = "86400"
      LOG_LEVEL                             = "info"
      METRICS_NAMESPACE                     = "RunnerCountCache"
      LOOKUP_UNREGISTERED                   = "true"
    })
    error_message = "The function's environment is not the one its code reads."
  }

  assert {
    condition = output.cache_config == {
      RUNNER_COUNT_CACHE_TABLE_NAME         = "ghr-runner-count-cache"
      RUNNER_COUNT_CACHE_STALE_THRESHOLD_MS = "60000"
      RUNNER_COUNT_CACHE_INDEX_NAME         = "active"
      RECONCILE_INTERVAL_S                  = "300"
    }
    error_message = "cache_config (the scale-up's environment) changed."
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.ec2_state_change.event_pattern) == {
      source        = ["aws.ec2"]
      "detail-type" = ["EC2 Instance State-change Notification"]
      detail        = { state = ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"] }
    }
    error_message = "The event pattern must route every state the counter orders."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.schedule.schedule_expression == "rate(1 minute)"
    error_message = "The heartbeat tick must be one minute."
  }

  # Least privilege: exactly the requests the counter's code sends, on exactly their resources.
  assert {
    condition = jsonencode([for s in jsondecode(aws_iam_role_policy.counter.policy).Statement : [s.Sid, sort(s.Action), s.Resource]]) == jsonencode([
      ["CacheTableItems", ["dynamodb:GetItem", "dynamodb:UpdateItem"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/t"]],
      ["ListActiveRunners", ["dynamodb:Scan"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/t/index/active"]],
      ["DescribeInstances", ["ec2:DescribeInstances"], ["*"]],
      ["OwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"], ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/t:*"]],
      ["DeadLetterQueue", ["sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:123456789012:t-dlq"]],
    ])
    error_message = "The counter's policy differs from the requests its code sends."
  }

  assert {
    condition = jsonencode([for s in jsondecode(output.scale_up_policy_json).Statement : [s.Action, s.Resource]]) == jsonencode([
      [["dynamodb:GetItem"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/t"]],
      [["dynamodb:Query"], ["arn:aws:dynamodb:eu-west-1:123456789012:table/t/index/active"]],
    ])
    error_message = "The scale-up policy must allow exactly the reader's GetItem and Query."
  }

  assert {
    condition     = aws_iam_role.counter.path == "/ghr/" && aws_iam_role.counter.name == "ghr-runner-count-cache"
    error_message = "The role path defaults to /<prefix>/ as upstream's."
  }

  assert {
    condition     = length(aws_iam_role_policy.xray) == 0 && length(aws_iam_role_policy.vpc) == 0 && length(aws_lambda_function.counter.tracing_config) == 0
    error_message = "X-Ray and VPC permissions exist only when enabled."
  }

  assert {
    condition     = aws_cloudwatch_log_group.counter.log_group_class == "STANDARD" && aws_lambda_function.counter.s3_bucket == "artifacts-bucket"
    error_message = "Log class default or S3 package wiring changed."
  }
}

# One deployment for upstream's multi-runner: a list of environments and a long prefix.
run "multi_runner" {
  command = plan

  variables {
    prefix             = "multi-runner-linux-x64-ubuntu-2204-large"
    environment_filter = ["multi-runner-linux-x64-ubuntu-2204", "multi-runner-linux-arm64"]
    log_level          = "trace"
    log_class          = "INFREQUENT_ACCESS"
    lambda_tags        = { CostCenter = "ci" }
    tracing_config     = { mode = "Active", capture_http_requests = true, capture_error = true }
  }

  assert {
    condition     = aws_lambda_function.counter.environment[0].variables.ENVIRONMENT_FILTER == "multi-runner-linux-x64-ubuntu-2204,multi-runner-linux-arm64"
    error_message = "ENVIRONMENT_FILTER must be the list joined with ','."
  }

  assert {
    condition     = aws_lambda_function.counter.environment[0].variables.LOG_LEVEL == "debug"
    error_message = "Upstream's trace level must reach the function as debug."
  }

  assert {
    # 40 + 19 = 59 characters fit; "<name>-ec2-state" (69) does not and ends with a hash suffix.
    condition = (
      aws_lambda_function.counter.function_name == "multi-runner-linux-x64-ubuntu-2204-large-runner-count-cache" &&
      length(aws_cloudwatch_event_rule.ec2_state_change.name) == 64 &&
      can(regex("^multi-runner-linux-x64-ubuntu-2204-large-runner-count-c-[0-9a-f]{8}$", aws_cloudwatch_event_rule.ec2_state_change.name)) &&
      aws_cloudwatch_event_rule.ec2_state_change.name != aws_cloudwatch_event_rule.schedule.name &&
      length(aws_cloudwatch_event_rule.schedule.name) <= 64 && length(aws_iam_role.counter.name) <= 64
    )
    error_message = "Derived names must fit their limits, truncated with a hash suffix."
  }

  assert {
    condition     = aws_lambda_function.counter.tags["CostCenter"] == "ci" && aws_cloudwatch_log_group.counter.log_group_class == "INFREQUENT_ACCESS"
    error_message = "lambda_tags and log_class must reach the function and its log group."
  }

  assert {
    condition     = aws_lambda_function.counter.tracing_config[0].mode == "Active" && length(aws_iam_role_policy.xray) == 1
    error_message = "tracing_config.mode must enable tracing and its permissions."
  }
}

run "fatal_is_error" {
  command = plan
  variables {
    log_level = "fatal"
  }
  assert {
    condition     = aws_lambda_function.counter.environment[0].variables.LOG_LEVEL == "error"
    error_message = "Upstream's fatal level must reach the function as error."
  }
}

run "cmk_is_granted_through_dynamodb_only" {
  command = plan
  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }
  assert {
    condition = (
      jsondecode(aws_iam_role_policy.counter.policy).Statement[5].Condition.StringLike["kms:ViaService"] == "dynamodb.*.amazonaws.com" &&
      jsondecode(output.scale_up_policy_json).Statement[2].Action == ["kms:Decrypt", "kms:DescribeKey"]
    )
    error_message = "The CMK statements must be scoped to DynamoDB."
  }
}

# Here only that the plan fails: terraform test cannot read the message. test/terraform_test.sh
# (terraform_module_test) plans without a zip again and checks that the message names the build command
# for each architecture and the alternatives (lambda_zip, S3).
run "missing_default_zip_says_how_to_build_it" {
  command = plan
  variables {
    lambda_s3_bucket = null
    lambda_s3_key    = null
  }
  expect_failures = [aws_lambda_function.counter]
}

run "rejects_a_comma_in_an_environment" {
  command = plan
  variables {
    environment_filter = ["prod,staging"]
  }
  expect_failures = [var.environment_filter]
}

run "rejects_a_repeated_environment" {
  command = plan
  variables {
    environment_filter = ["prod", "prod"]
  }
  expect_failures = [var.environment_filter]
}

run "rejects_an_empty_list" {
  command = plan
  variables {
    environment_filter = []
  }
  expect_failures = [var.environment_filter]
}

run "rejects_whitespace_around_an_environment" {
  command = plan
  variables {
    environment_filter = " prod"
  }
  expect_failures = [var.environment_filter]
}

run "rejects_a_bad_prefix" {
  command = plan
  variables {
    prefix = "-bad prefix"
  }
  expect_failures = [var.prefix]
}

run "rejects_an_unknown_log_level" {
  command = plan
  variables {
    log_level = "verbose"
  }
  expect_failures = [var.log_level]
}

run "rejects_an_unknown_log_class" {
  command = plan
  variables {
    log_class = "GLACIER"
  }
  expect_failures = [var.log_class]
}

run "rejects_an_unknown_tracing_mode" {
  command = plan
  variables {
    tracing_config = { mode = "Always" }
  }
  expect_failures = [var.tracing_config]
}
