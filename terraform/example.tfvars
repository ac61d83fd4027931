# Copy to prod.tfvars (git-ignored) and fill in; see README.md.
region      = "eu-west-1"
environment = "prod"

panel_origins       = ["https://admin.example.com"]
api_certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
cdn_public_key_pem  = <<-PEM
  -----BEGIN PUBLIC KEY-----
  (contents of cdn_public.pem)
  -----END PUBLIC KEY-----
PEM

image_tag       = "REPLACE-with-git-sha"
lambda_zip_path = "../target/lambda/bootstrap/bootstrap.zip"

# Smaller, cheaper test deployment:
# multi_az            = false
# single_nat_gateway  = true
# deletion_protection = false
