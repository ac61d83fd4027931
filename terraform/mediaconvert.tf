# MediaConvert: a dedicated on-demand queue and the role MediaConvert assumes
# to read a source and write the HLS package. Workers submit jobs and pass
# this role (iam.tf); they never hand MediaConvert their own credentials.

resource "aws_media_convert_queue" "main" {
  name         = local.prefix
  description  = "vod-worker transcodes"
  pricing_plan = "ON_DEMAND"
  status       = "ACTIVE"
}

data "aws_iam_policy_document" "mediaconvert_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["mediaconvert.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "mediaconvert" {
  name               = "${local.prefix}-mediaconvert"
  description        = "Assumed by MediaConvert jobs that vod-worker submits"
  assume_role_policy = data.aws_iam_policy_document.mediaconvert_assume.json
}

data "aws_iam_policy_document" "mediaconvert" {
  statement {
    sid       = "ReadSources"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.sources.arn}/${local.sources_prefix}*"]
  }
  statement {
    sid       = "WriteOutputs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.outputs.arn}/${local.outputs_prefix}*"]
  }
  statement {
    sid       = "DecryptSources"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.main.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "mediaconvert" {
  name   = "sources-to-outputs"
  role   = aws_iam_role.mediaconvert.id
  policy = data.aws_iam_policy_document.mediaconvert.json
}

locals {
  mediaconvert_endpoint = coalesce(var.mediaconvert_endpoint, "https://mediaconvert.${local.region}.amazonaws.com")
}
