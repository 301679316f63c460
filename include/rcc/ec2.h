// The slice of EC2 the project uses: DescribeInstances, by instance ids and by filters.
//
// Implementations: Ec2QueryClient (rcc/ec2_client.h, the EC2 Query API over HTTPS) and the simulator's
// in-process model. Retries of retryable failures happen inside an implementation; what it returns as an
// error has already exhausted its budget.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rcc/event.h"
#include "rcc/runner.h"
#include "rcc/status.h"

namespace rcc {

struct Ec2Instance {
  std::string instance_id;
  InstanceState state = InstanceState::kPending;
  Tags tags;
  std::int64_t launch_time_ms = 0;

  friend bool operator==(const Ec2Instance&, const Ec2Instance&) = default;
};

// A DescribeInstances filter, e.g. {"instance-state-name", {"pending", "running"}}.
struct Ec2Filter {
  std::string name;
  std::vector<std::string> values;
};

class Ec2 {
 public:
  virtual ~Ec2() = default;

  // DescribeInstances with InstanceId.N = `instance_id`.
  // Returns the instance, NotFound when EC2 answers InvalidInstanceID.NotFound, or the failure.
  virtual Result<Ec2Instance> describe_instance(std::string_view instance_id) = 0;

  // DescribeInstances with `filters`, following NextToken with MaxResults=1000 until the last page.
  // Returns every matching instance, or the first failure.
  virtual Result<std::vector<Ec2Instance>> describe_instances(const std::vector<Ec2Filter>& filters) = 0;

  // Number of DescribeInstances requests sent so far (each page and each retry counts).
  virtual std::int64_t requests_sent() const = 0;
};

// The filters the scale-up sends today and the reader's fallback and reconcile send: active states and
// the environment tag. The remaining tags are matched client-side with identify().
std::vector<Ec2Filter> active_runner_filters(std::string_view environment);
// The same for several environments: one environment filter whose values are `environments` (EC2 matches
// any of them), so one paginated scan lists the runners of all of them.
std::vector<Ec2Filter> active_runner_filters(std::span<const std::string> environments);

}  // namespace rcc
