# The API and the workers on ECS Fargate, images from this module's ECR
# repositories. Plain settings are environment variables; every secret is an
# ECS `secrets` reference resolved by the execution role at task start.

resource "aws_ecr_repository" "app" {
  for_each             = toset(["vod-api", "vod-worker"])
  name                 = "${local.prefix}/${each.key}"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = aws_kms_key.main.arn
  }
}

resource "aws_ecs_cluster" "main" {
  name = local.prefix
  # Container Insights provides RunningTaskCount, the divisor of the worker scaling metric.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "ecs" {
  for_each          = toset(["api", "worker"])
  name              = "/${local.prefix}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

locals {
  # Settings every process (API, workers, Lambda) reads, see `vod-api config`.
  common_env = {
    VOD_S3_REGION           = local.region
    VOD_S3_SOURCES_BUCKET   = aws_s3_bucket.sources.id
    VOD_S3_OUTPUTS_BUCKET   = aws_s3_bucket.outputs.id
    VOD_S3_FORCE_PATH_STYLE = "false"
    VOD_MONGODB_DATABASE    = "vod"
    VOD_CDN_BASE_URL        = "https://${aws_cloudfront_distribution.outputs.domain_name}"
    VOD_CDN_KEY_PAIR_ID     = aws_cloudfront_public_key.signing.id
    VOD_LOG_JSON            = "true"
    # Where the app publishes VOD/QueueDepth (autoscaling.tf); see README.md.
    VOD_QUEUE_METRIC_NAMESPACE   = var.queue_metric_namespace
    VOD_QUEUE_METRIC_ENVIRONMENT = local.prefix
    # VOD_S3_ENDPOINT is deliberately unset: no endpoint means AWS S3.
  }

  api_only_env = {
    VOD_LISTEN = "0.0.0.0:8080"
  }
  api_env = merge(local.common_env, local.api_only_env)

  worker_only_env = {
    VOD_WORKER_BACKEND         = var.worker_backend
    VOD_MEDIACONVERT_ROLE_ARN  = aws_iam_role.mediaconvert.arn
    VOD_MEDIACONVERT_QUEUE_ARN = aws_media_convert_queue.main.arn
    VOD_MEDIACONVERT_ENDPOINT  = local.mediaconvert_endpoint
    VOD_WORK_DIR               = "/scratch"
    VOD_SKIP_MIGRATIONS        = "true"
    # /metrics and /healthz inside the task; the container health check asks it.
    VOD_WORKER_METRICS_LISTEN = "127.0.0.1:9102"
    # A worker that cannot reach Redis for this long exits and ECS replaces it.
    VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS = "300"
  }
  worker_env = merge(local.common_env, local.worker_only_env)

  service_secrets = {
    VOD_DATABASE_URL = aws_secretsmanager_secret.generated["database-url"].arn
    VOD_REDIS_URL    = aws_secretsmanager_secret.generated["redis-url"].arn
    VOD_MONGODB_URL  = aws_secretsmanager_secret.generated["mongodb-url"].arn
  }

  api_only_secrets = {
    VOD_BOOTSTRAP_ADMIN_TOKEN = aws_secretsmanager_secret.generated["bootstrap-admin-token"].arn
    VOD_CDN_PRIVATE_KEY       = aws_secretsmanager_secret.cdn_private_key.arn
  }
  api_secrets = merge(local.service_secrets, local.api_only_secrets)
}

# --- task definitions ---------------------------------------------------------------

resource "aws_ecs_task_definition" "api" {
  family                   = "${local.prefix}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api_cpu
  memory                   = var.api_memory
  execution_role_arn       = aws_iam_role.ecs_execution.arn
  task_role_arn            = aws_iam_role.api.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "tmp"
  }
  container_definitions = jsonencode([{
    name                   = "vod-api"
    image                  = "${aws_ecr_repository.app["vod-api"].repository_url}:${var.image_tag}"
    command                = ["serve"]
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001"
    portMappings           = [{ containerPort = 8080, protocol = "tcp" }]
    environment            = [for k, v in local.api_env : { name = k, value = v }]
    secrets                = [for k, v in local.api_secrets : { name = k, valueFrom = v }]
    mountPoints            = [{ sourceVolume = "tmp", containerPath = "/tmp" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs["api"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "api"
      }
    }
  }])
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${local.prefix}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = aws_iam_role.ecs_execution.arn
  task_role_arn            = aws_iam_role.worker.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  ephemeral_storage {
    size_in_gib = var.worker_scratch_gib
  }
  volume {
    name = "scratch"
  }
  container_definitions = jsonencode([{
    name                   = "vod-worker"
    image                  = "${aws_ecr_repository.app["vod-worker"].repository_url}:${var.image_tag}"
    command                = ["run"]
    essential              = true
    readonlyRootFilesystem = true
    user                   = "10001"
    # SIGTERM hands the running job back after the app's grace period (30 s default).
    stopTimeout = 120
    # `vod-worker health` asks the worker's /healthz (the image has no curl):
    # unhealthy when the process no longer answers, or while it exits after
    # VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS without Redis.
    healthCheck = {
      command     = ["CMD", "/usr/local/bin/vod-worker", "health"]
      interval    = 30
      timeout     = 10
      retries     = 3
      startPeriod = 60
    }
    environment = [for k, v in local.worker_env : { name = k, value = v }]
    secrets     = [for k, v in local.service_secrets : { name = k, valueFrom = v }]
    mountPoints = [{ sourceVolume = "scratch", containerPath = "/scratch" }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.ecs["worker"].name
        awslogs-region        = local.region
        awslogs-stream-prefix = "worker"
      }
    }
  }])
}

# --- load balancer ------------------------------------------------------------------

resource "aws_lb" "api" {
  # checkov:skip=CKV2_AWS_76:WAF (and its Log4j rule) is left to the deployer; the API authenticates every write with a token and rate-limits it.
  # checkov:skip=CKV2_AWS_28:Same as CKV2_AWS_76: no WAF by default.
  name                       = "${local.prefix}-api"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # Uploads stream through the API: give slow clients time between packets.
  idle_timeout = 300
  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }
  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "api" {
  name        = "${local.prefix}-api"
  port        = 8080
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = aws_vpc.main.id
  # The API hands in-flight requests over on SIGTERM; give it the time.
  deregistration_delay = 60
  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.api_certificate_arn
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }
}


# --- services -----------------------------------------------------------------------

resource "aws_ecs_service" "api" {
  name                   = "vod-api"
  cluster                = aws_ecs_cluster.main.id
  task_definition        = aws_ecs_task_definition.api.arn
  desired_count          = var.api_min_count
  launch_type            = "FARGATE"
  enable_execute_command = false
  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.api.id]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "vod-api"
    container_port   = 8080
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  # Autoscaling owns the count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }
  depends_on = [aws_lb_listener.https]
}

resource "aws_ecs_service" "worker" {
  name                   = "vod-worker"
  cluster                = aws_ecs_cluster.main.id
  task_definition        = aws_ecs_task_definition.worker.arn
  desired_count          = var.worker_min_count
  launch_type            = "FARGATE"
  enable_execute_command = false
  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  lifecycle {
    ignore_changes = [desired_count]
  }
}
