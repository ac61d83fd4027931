# The ingest Lambda (crate `lambda/`, a Rust `bootstrap` on provided.al2023):
# S3 ObjectCreated under ingest/ in the sources bucket invokes it; events it
# fails on after the asynchronous retries land in a dead-letter queue.

resource "aws_sqs_queue" "ingest_dlq" {
  name                      = "${local.prefix}-ingest-dlq"
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time to inspect and replay.
  kms_master_key_id         = aws_kms_key.main.arn
}

resource "aws_cloudwatch_log_group" "ingest" {
  name              = "/aws/lambda/${local.prefix}-ingest"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "ingest" {
  name               = "${local.prefix}-ingest"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "ingest" {
  # Reads the dropped file and moves it to sources/<id>/source.<ext>.
  statement {
    sid       = "ReadIngest"
    actions   = ["s3:GetObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.sources.arn}/${local.ingest_prefix}*"]
  }
  statement {
    sid       = "WriteSources"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.sources.arn}/${local.sources_prefix}*"]
  }
  statement {
    sid       = "SourcesKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.ingest_dlq.arn]
  }
  statement {
    sid       = "DeadLettersKey"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ingest.arn}:*"]
  }
  statement {
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"] # X-Ray has no resource-level permissions for these.
  }
}

resource "aws_iam_role_policy" "ingest" {
  name   = "vod-ingest"
  role   = aws_iam_role.ingest.id
  policy = data.aws_iam_policy_document.ingest.json
}

# ENI management for a function inside the VPC (it reaches the databases).
resource "aws_iam_role_policy_attachment" "ingest_vpc" {
  role       = aws_iam_role.ingest.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "ingest" {
  # checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile and a signed artifact in S3; the zip is built from this repository by the deployer (README.md).
  function_name    = "${local.prefix}-ingest"
  description      = "Registers files dropped under ingest/ and enqueues their transcode"
  role             = aws_iam_role.ingest.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  memory_size      = 512
  timeout          = 300

  reserved_concurrent_executions = var.lambda_reserved_concurrency
  kms_key_arn                    = aws_kms_key.main.arn

  dead_letter_config {
    target_arn = aws_sqs_queue.ingest_dlq.arn
  }

  vpc_config {
    subnet_ids         = aws_subnet.private[*].id
    security_group_ids = [aws_security_group.lambda.id]
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.ingest.name
  }

  # Lambda has no secret references like ECS: the connection URLs are
  # environment values encrypted with the project key (kms_key_arn).
  environment {
    variables = merge(local.common_env, {
      VOD_DATABASE_URL             = local.secret_values["database-url"]
      VOD_REDIS_URL                = local.secret_values["redis-url"]
      VOD_MONGODB_URL              = local.secret_values["mongodb-url"]
      VOD_SKIP_MIGRATIONS          = "true"
      VOD_DATABASE_MAX_CONNECTIONS = "2"
    })
  }

  depends_on = [aws_iam_role_policy.ingest, aws_iam_role_policy_attachment.ingest_vpc]
}

# Two retries (the default), then the event goes to the dead-letter queue.
resource "aws_lambda_function_event_invoke_config" "ingest" {
  function_name                = aws_lambda_function.ingest.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_permission" "sources_bucket" {
  statement_id   = "AllowSourcesBucket"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.ingest.function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.sources.arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "sources" {
  bucket = aws_s3_bucket.sources.id

  lambda_function {
    lambda_function_arn = aws_lambda_function.ingest.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = local.ingest_prefix
  }

  depends_on = [aws_lambda_permission.sources_bucket]
}

resource "aws_cloudwatch_metric_alarm" "ingest_dlq" {
  alarm_name          = "${local.prefix}-ingest-dead-letters"
  alarm_description   = "An ingest event failed three times; inspect and replay the message"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.ingest_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}
