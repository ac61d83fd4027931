# Least-privilege roles of the ECS tasks. Each role names the bucket prefixes
# and actions its code uses; nothing gets s3:* or a bucket-wide grant.
# The Lambda's role is in lambda.tf, MediaConvert's in mediaconvert.tf.

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# --- execution role: pull the image, write logs, read the secrets ----------------

resource "aws_iam_role" "ecs_execution" {
  name               = "${local.prefix}-ecs-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "ecs_execution" {
  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions.
  }
  statement {
    sid       = "EcrPull"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [for r in aws_ecr_repository.app : r.arn]
  }
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for g in aws_cloudwatch_log_group.ecs : "${g.arn}:*"]
  }
  statement {
    sid     = "Secrets"
    actions = ["secretsmanager:GetSecretValue"]
    resources = concat(
      [for s in aws_secretsmanager_secret.generated : s.arn],
      [aws_secretsmanager_secret.cdn_private_key.arn],
    )
  }
  statement {
    sid       = "DecryptSecrets"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "pull-log-secrets"
  role   = aws_iam_role.ecs_execution.id
  policy = data.aws_iam_policy_document.ecs_execution.json
}

# --- API task role ----------------------------------------------------------------

resource "aws_iam_role" "api" {
  name               = "${local.prefix}-api"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "api" {
  # Uploads (streamed, presigned direct, pulled) write sources/<id>/source.<ext>;
  # presigned part URLs are signed with this role, so the browser's PUTs carry these rights.
  statement {
    sid = "WriteSources"
    actions = [
      "s3:PutObject", "s3:GetObject", "s3:DeleteObject",
      "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.sources.arn}/${local.sources_prefix}*"]
  }
  # Deleting a video removes its outputs; the edge route and readiness read them.
  statement {
    sid       = "ReadDeleteOutputs"
    actions   = ["s3:GetObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.outputs.arn}/${local.outputs_prefix}*"]
  }
  statement {
    sid       = "ListOwnPrefixes"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.sources.arn, aws_s3_bucket.outputs.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["", local.sources_prefix, "${local.sources_prefix}*", local.outputs_prefix, "${local.outputs_prefix}*"]
    }
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
    sid       = "QueueDepthMetric"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions; the namespace condition scopes it.
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.queue_metric_namespace]
    }
  }
}

resource "aws_iam_role_policy" "api" {
  name   = "vod-api"
  role   = aws_iam_role.api.id
  policy = data.aws_iam_policy_document.api.json
}

# --- worker task role -------------------------------------------------------------

resource "aws_iam_role" "worker" {
  name               = "${local.prefix}-worker"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "worker" {
  statement {
    sid       = "ReadSources"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.sources.arn}/${local.sources_prefix}*"]
  }
  # Publishing replaces a video's outputs (idempotent re-runs delete stale keys).
  statement {
    sid = "PublishOutputs"
    actions = [
      "s3:PutObject", "s3:GetObject", "s3:DeleteObject",
      "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
    ]
    resources = [
      "${aws_s3_bucket.outputs.arn}/${local.outputs_prefix}*",
      "${aws_s3_bucket.outputs.arn}/${local.work_prefix}*",
    ]
  }
  statement {
    sid       = "ListOutputs"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.outputs.arn, aws_s3_bucket.sources.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "", local.outputs_prefix, "${local.outputs_prefix}*", local.work_prefix, "${local.work_prefix}*",
        local.sources_prefix, "${local.sources_prefix}*",
      ]
    }
  }
  statement {
    sid       = "SourcesKey"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
  # Jobs only on our queue; GetJob/CancelJob to follow and stop them.
  statement {
    sid     = "MediaConvertJobs"
    actions = ["mediaconvert:CreateJob", "mediaconvert:GetJob", "mediaconvert:CancelJob"]
    resources = [
      aws_media_convert_queue.main.arn,
      "arn:${local.partition}:mediaconvert:${local.region}:${local.account_id}:jobs/*",
    ]
  }
  statement {
    sid       = "PassMediaConvertRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.mediaconvert.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["mediaconvert.amazonaws.com"]
    }
  }
  statement {
    sid       = "QueueDepthMetric"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions; the namespace condition scopes it.
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.queue_metric_namespace]
    }
  }
}

resource "aws_iam_role_policy" "worker" {
  name   = "vod-worker"
  role   = aws_iam_role.worker.id
  policy = data.aws_iam_policy_document.worker.json
}
