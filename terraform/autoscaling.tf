# Autoscaling. The API follows CPU. Workers follow the transcode backlog: the
# queue lives in Redis (apalis), which CloudWatch cannot see, so the app
# publishes it as the custom metric VOD/QueueDepth (README.md: "Queue-depth
# metric") and the policy tracks waiting jobs per running worker task.

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.api_min_count
  max_capacity       = var.api_max_count
}

resource "aws_appautoscaling_policy" "api_cpu" {
  name               = "${local.prefix}-api-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_target" "worker" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.main.name}/${aws_ecs_service.worker.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.worker_min_count
  max_capacity       = var.worker_max_count
}

locals {
  queue_metric = {
    namespace  = var.queue_metric_namespace
    name       = "QueueDepth"
    dimensions = { Environment = local.prefix }
  }
}

resource "aws_appautoscaling_policy" "worker_backlog" {
  name               = "${local.prefix}-worker-backlog"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.worker.service_namespace
  resource_id        = aws_appautoscaling_target.worker.resource_id
  scalable_dimension = aws_appautoscaling_target.worker.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.worker_backlog_per_task
    # Scale in slowly: a stopped worker hands its job back and the job restarts.
    scale_in_cooldown  = 900
    scale_out_cooldown = 120

    customized_metric_specification {
      metrics {
        id          = "depth"
        return_data = false
        metric_stat {
          stat = "Maximum"
          metric {
            namespace   = local.queue_metric.namespace
            metric_name = local.queue_metric.name
            dynamic "dimensions" {
              for_each = local.queue_metric.dimensions
              content {
                name  = dimensions.key
                value = dimensions.value
              }
            }
          }
        }
      }
      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.main.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.worker.name
            }
          }
        }
      }
      metrics {
        id          = "backlog_per_task"
        label       = "Waiting transcode jobs per running worker"
        expression  = "IF(tasks > 0, depth / tasks, depth)"
        return_data = true
      }
    }
  }
}

# Alarm when the app stops publishing the metric: the workers would no longer scale.
resource "aws_cloudwatch_metric_alarm" "queue_metric_missing" {
  alarm_name          = "${local.prefix}-queue-depth-missing"
  alarm_description   = "No VOD/QueueDepth datapoints: worker autoscaling is blind"
  namespace           = local.queue_metric.namespace
  metric_name         = local.queue_metric.name
  dimensions          = local.queue_metric.dimensions
  statistic           = "SampleCount"
  period              = 300
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
}
