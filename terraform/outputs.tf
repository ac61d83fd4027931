output "api_url" {
  description = "Load balancer address of the API (point a DNS record at it for the certificate's name)."
  value       = "https://${aws_lb.api.dns_name}"
}

output "cdn_base_url" {
  description = "VOD_CDN_BASE_URL: playback URLs are this plus the output key."
  value       = "https://${aws_cloudfront_distribution.outputs.domain_name}"
}

output "cdn_key_pair_id" {
  description = "VOD_CDN_KEY_PAIR_ID: id of the public key that signed URLs/cookies name."
  value       = aws_cloudfront_public_key.signing.id
}

output "sources_bucket" {
  value = aws_s3_bucket.sources.id
}

output "outputs_bucket" {
  value = aws_s3_bucket.outputs.id
}

output "ingest_upload_prefix" {
  description = "Objects created under this prefix of the sources bucket are ingested by the Lambda."
  value       = "s3://${aws_s3_bucket.sources.id}/${local.ingest_prefix}"
}

output "ecr_repositories" {
  description = "Where to push the vod-api and vod-worker images (README.md)."
  value       = { for k, r in aws_ecr_repository.app : k => r.repository_url }
}

output "ecs_cluster" {
  value = aws_ecs_cluster.main.name
}

output "lambda_function" {
  value = aws_lambda_function.ingest.function_name
}

output "ingest_dead_letter_queue" {
  value = aws_sqs_queue.ingest_dlq.url
}

output "mediaconvert" {
  description = "VOD_MEDIACONVERT_* values the workers receive."
  value = {
    role_arn  = aws_iam_role.mediaconvert.arn
    queue_arn = aws_media_convert_queue.main.arn
    endpoint  = local.mediaconvert_endpoint
  }
}

output "secrets" {
  description = "Secrets Manager names; fill cdn-private-key by hand (README.md)."
  value = merge(
    { for k, s in aws_secretsmanager_secret.generated : k => s.name },
    { cdn-private-key = aws_secretsmanager_secret.cdn_private_key.name },
  )
}

output "queue_depth_metric" {
  description = "The custom metric the API/workers must publish for worker autoscaling."
  value = {
    namespace  = local.queue_metric.namespace
    name       = local.queue_metric.name
    dimensions = local.queue_metric.dimensions
  }
}

output "worker_environment" {
  description = "Non-secret environment of the worker tasks (for `vod-worker config` comparisons)."
  value       = local.worker_env
}
