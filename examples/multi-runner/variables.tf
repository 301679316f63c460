variable "aws_region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"
}

variable "multi_runner_prefix" {
  description = "The prefix given to the multi-runner module (its var.prefix)."
  type        = string
  default     = "multi-runner"
}

variable "runner_config_keys" {
  description = "The keys of the multi-runner module's multi_runner_config map."
  type        = list(string)
  default     = ["linux-x64-ubuntu-2204", "linux-arm64", "windows-x64"]
}

variable "runners_map" {
  description = "The multi-runner module's runners_map output (module.multi_runner.runners_map); only role_scale_up.name is used."
  type = map(object({
    role_scale_up = object({ name = string })
  }))
  default = {}
}

variable "lambda_zip" {
  description = "Path to the built counter zip (cmake --build build --target lambda-package-arm64)."
  type        = string
  default     = null
}

variable "tracing_config" {
  description = "The multi-runner module's tracing_config, passed as is."
  type = object({
    mode                  = optional(string, null)
    capture_http_requests = optional(bool, false)
    capture_error         = optional(bool, false)
  })
  default = {}
}

variable "log_level" {
  description = "The multi-runner module's log_level, passed as is."
  type        = string
  default     = "info"
}

variable "tags" {
  description = "Tags for the cache's resources."
  type        = map(string)
  default     = {}
}
