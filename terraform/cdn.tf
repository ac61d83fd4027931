# CloudFront over the outputs bucket: Origin Access Control (the bucket stays
# private), one cache policy for playlists (short TTL) and one for immutable
# media (segments, images, storyboards), CORS for the players, and a trusted
# key group so that only signed URLs/cookies (issued by the API) play.

resource "aws_cloudfront_origin_access_control" "outputs" {
  name                              = "${local.prefix}-outputs"
  description                       = "CloudFront reads the outputs bucket with SigV4"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Playlists: a retry of a job rewrites them, so they may only be cached briefly.
resource "aws_cloudfront_cache_policy" "playlists" {
  name        = "${local.prefix}-playlists"
  comment     = "HLS playlists and other mutable objects"
  min_ttl     = 0
  default_ttl = var.cdn_playlist_ttl_seconds
  max_ttl     = max(var.cdn_playlist_ttl_seconds, 60)
  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Segments, posters, sprites and storyboards never change under the same key.
resource "aws_cloudfront_cache_policy" "media" {
  name        = "${local.prefix}-media"
  comment     = "Immutable HLS segments, images and storyboards"
  min_ttl     = 86400
  default_ttl = var.cdn_media_ttl_seconds
  max_ttl     = var.cdn_media_ttl_seconds
  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false
    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Players on the panel's origins fetch playlists and segments cross-origin;
# signed cookies need credentials, so origins are listed, never "*".
resource "aws_cloudfront_response_headers_policy" "cors" {
  name    = "${local.prefix}-cors"
  comment = "CORS for HLS players plus security headers"

  cors_config {
    access_control_allow_credentials = true
    access_control_max_age_sec       = 3600
    origin_override                  = true
    access_control_allow_headers {
      items = ["Range", "Origin", "Accept"]
    }
    access_control_allow_methods {
      items = ["GET", "HEAD", "OPTIONS"]
    }
    access_control_allow_origins {
      items = var.panel_origins
    }
    access_control_expose_headers {
      items = ["Content-Length", "Content-Range", "ETag"]
    }
  }

  security_headers_config {
    content_type_options {
      override = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
  }
}

# The public half of the signing key; the private half lives in the
# cdn-private-key secret and only the API reads it.
resource "aws_cloudfront_public_key" "signing" {
  name        = "${local.prefix}-signing"
  comment     = "Verifies URLs and cookies signed by vod-api"
  encoded_key = var.cdn_public_key_pem
}

resource "aws_cloudfront_key_group" "signing" {
  name    = "${local.prefix}-signing"
  comment = "Keys trusted for signed URLs and cookies"
  items   = [aws_cloudfront_public_key.signing.id]
}

locals {
  outputs_origin_id  = "outputs-s3"
  trusted_key_groups = var.cdn_signed_access ? [aws_cloudfront_key_group.signing.id] : []
}

resource "aws_cloudfront_distribution" "outputs" {
  # checkov:skip=CKV_AWS_310:One origin (the outputs bucket); an origin group would need a replicated second bucket, which outputs (derived data) do not have.
  # checkov:skip=CKV_AWS_374:Geo restriction is a business decision; none by default.
  # checkov:skip=CKV_AWS_68:WAF is optional (cdn_web_acl_arn): signed URLs already keep out anonymous viewers and the origin is read-only.
  # checkov:skip=CKV2_AWS_47:Same as CKV_AWS_68: no WAF by default; the origin is a static S3 bucket (no Log4j surface).
  # checkov:skip=CKV_AWS_305:Not a website: there is no root object, only videos/<id>/… keys.
  # checkov:skip=CKV_AWS_174:With no custom domain the *.cloudfront.net certificate is used, whose minimum protocol AWS fixes; with cdn_certificate_arn the policy is TLSv1.2_2021.
  # checkov:skip=CKV2_AWS_42:Same as CKV_AWS_174: a custom certificate is optional (cdn_certificate_arn).
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  comment         = "${local.prefix} outputs (HLS, thumbnails)"
  price_class     = var.cdn_price_class
  aliases         = var.cdn_aliases
  web_acl_id      = var.cdn_web_acl_arn

  origin {
    origin_id                = local.outputs_origin_id
    domain_name              = aws_s3_bucket.outputs.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.outputs.id
  }

  # Playlists (master and per-rendition): short TTL, compressed.
  ordered_cache_behavior {
    path_pattern               = "${local.outputs_prefix}*.m3u8"
    target_origin_id           = local.outputs_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.playlists.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id
    trusted_key_groups         = local.trusted_key_groups
  }

  # Transport-stream segments: immutable, long TTL.
  ordered_cache_behavior {
    path_pattern               = "${local.outputs_prefix}*.ts"
    target_origin_id           = local.outputs_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = false
    cache_policy_id            = aws_cloudfront_cache_policy.media.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id
    trusted_key_groups         = local.trusted_key_groups
  }

  # Poster, sprites and the WebVTT storyboard: immutable, long TTL.
  ordered_cache_behavior {
    path_pattern               = "${local.outputs_prefix}*/thumbs/*"
    target_origin_id           = local.outputs_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.media.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id
    trusted_key_groups         = local.trusted_key_groups
  }

  # Anything else (manifest.json…) may change on a re-transcode: short TTL.
  default_cache_behavior {
    target_origin_id           = local.outputs_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.playlists.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.cors.id
    trusted_key_groups         = local.trusted_key_groups
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.cdn_certificate_arn == null
    acm_certificate_arn            = var.cdn_certificate_arn
    ssl_support_method             = var.cdn_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.cdn_certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  logging_config {
    bucket          = aws_s3_bucket.logs.bucket_domain_name
    prefix          = "cloudfront/"
    include_cookies = false
  }

  depends_on = [aws_s3_bucket_ownership_controls.logs]
}
