variable "aws_region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "lambda_subnet_ids" {
  description = "Private subnets for the counter function; they need a route to DynamoDB and EC2 (NAT or VPC endpoints)."
  type        = list(string)
}

variable "lambda_security_group_ids" {
  description = "Security groups for the counter function (egress HTTPS)."
  type        = list(string)
}

variable "lambda_s3_bucket" {
  description = "Bucket holding the packaged zip. Null deploys the local build/lambda-package/runner-count-cache-x86_64.zip."
  type        = string
  default     = null
}

variable "lambda_s3_key" {
  description = "Key of the packaged x86_64 zip in lambda_s3_bucket."
  type        = string
  default     = null
}

variable "lambda_s3_object_version" {
  description = "Object version of the zip in lambda_s3_bucket."
  type        = string
  default     = null
}

variable "role_permissions_boundary" {
  description = "Permissions boundary policy ARN for the counter's role, or null."
  type        = string
  default     = null
}

variable "scale_up_role_name" {
  description = "Name of an existing scale-up role that should be allowed to read the cache, or null."
  type        = string
  default     = null
}
