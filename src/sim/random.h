// SimRandom: the simulator's deterministic random numbers.
//
// The standard library's distributions are allowed to differ between implementations, so the simulator
// draws everything from xoshiro256** with its own transforms: a seed gives the same run on every build.
// Streams are derived from (seed, purpose, id) so that the same job gets the same durations in the baseline
// run and in the cache run, whatever else happened in between.
#pragma once

#include <cmath>
#include <cstdint>

namespace rcc::sim {

// SplitMix64, used to expand seeds.
constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// What a stream of draws is for; part of the stream's seed.
enum class Stream : std::uint64_t {
  kWorkload = 1,
  kJob = 2,
  kNonRunner = 3,
  kDelivery = 4,
  kEc2 = 5,
  kDynamo = 6,
  kReader = 7,
  kSlots = 8,
};

class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) {
    std::uint64_t s = seed;
    for (auto& word : s_) word = splitmix64(s);
  }
  // The stream for (seed, purpose, id, sub).
  SimRandom(std::uint64_t seed, Stream purpose, std::uint64_t id, std::uint64_t sub = 0)
      : SimRandom(mix(seed, static_cast<std::uint64_t>(purpose), id, sub)) {}

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Uniform integer in [0, n), n > 0.
  std::uint64_t below(std::uint64_t n) { return static_cast<std::uint64_t>(uniform() * static_cast<double>(n)); }
  bool chance(double p) { return uniform() < p; }
  // Standard normal (Box-Muller, one value per call).
  double normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Lognormal with the given median and shape sigma.
  double lognormal(double median, double sigma) { return median * std::exp(sigma * normal()); }
  // Exponential with the given mean.
  double exponential(double mean) { return -mean * std::log(1.0 - uniform()); }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t mix(std::uint64_t seed, std::uint64_t purpose, std::uint64_t id, std::uint64_t sub) {
    std::uint64_t s = seed;
    std::uint64_t h = splitmix64(s);
    s = h ^ (purpose * 0xd1b54a32d192ed03ULL);
    h = splitmix64(s);
    s = h ^ (id * 0x8cb92ba72f3d8dd7ULL);
    h = splitmix64(s);
    s = h ^ (sub * 0xaef17502108ef2d9ULL);
    return splitmix64(s);
  }

  std::uint64_t s_[4];
};

}  // namespace rcc::sim
