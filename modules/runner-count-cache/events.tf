# Every state the counter orders (docs/counting.md): pending/running make a runner active, the others end
# it; stopping/stopped are needed so a stop/start cycle is followed.
resource "aws_cloudwatch_event_rule" "ec2_state_change" {
  name        = local.limited_names.rule_ec2
  description = "EC2 instance state changes for the runner count cache."
  event_pattern = jsonencode({
    source        = ["aws.ec2"]
    "detail-type" = ["EC2 Instance State-change Notification"]
    detail = {
      state = ["pending", "running", "stopping", "stopped", "shutting-down", "terminated"]
    }
  })
  tags = merge(var.tags, { Name = local.limited_names.rule_ec2 })
}

# Heartbeat and reconcile tick (docs/counting.md, Reconcile): the function reconciles when
# reconcile_interval has passed.
resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.limited_names.rule_tick
  description         = "Heartbeat and reconcile tick for the runner count cache."
  schedule_expression = "rate(1 minute)"
  tags                = merge(var.tags, { Name = local.limited_names.rule_tick })
}

resource "aws_cloudwatch_event_target" "ec2_state_change" {
  rule = aws_cloudwatch_event_rule.ec2_state_change.name
  arn  = aws_lambda_function.counter.arn

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_cloudwatch_event_target" "schedule" {
  rule = aws_cloudwatch_event_rule.schedule.name
  arn  = aws_lambda_function.counter.arn

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "ec2_state_change" {
  statement_id  = "AllowExecutionFromEC2StateChangeRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.counter.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.ec2_state_change.arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowExecutionFromScheduleRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.counter.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}
