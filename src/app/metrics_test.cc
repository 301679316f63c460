#include "app/metrics.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace rcc {
namespace {

TEST(Metrics, FormatsAnEmbeddedMetricFormatDocument) {
  Metrics metrics("RunnerCountCache", {{"Environment", "prod"}}, nullptr);
  metrics.add(metric::kEvents);
  metrics.add(metric::kEvents);
  metrics.add(metric::kTransitionsApplied, 1);
  metrics.add(metric::kFailures, 0);
  const auto doc = nlohmann::json::parse(metrics.format(1700000000123));

  EXPECT_EQ(doc["_aws"]["Timestamp"], 1700000000123);
  const auto& directive = doc["_aws"]["CloudWatchMetrics"][0];
  EXPECT_EQ(directive["Namespace"], "RunnerCountCache");
  EXPECT_EQ(directive["Dimensions"], nlohmann::json::parse(R"([["Environment"]])"));
  ASSERT_EQ(directive["Metrics"].size(), 3u);
  for (const auto& m : directive["Metrics"]) {
    EXPECT_EQ(m["Unit"], "Count");
    // Every declared metric has its value as a root member, as EMF requires.
    EXPECT_TRUE(doc.contains(m["Name"].get<std::string>())) << m;
  }
  EXPECT_EQ(doc["Environment"], "prod");
  EXPECT_EQ(doc["Events"], 2);
  EXPECT_EQ(doc["TransitionsApplied"], 1);
  EXPECT_EQ(doc["Failures"], 0);
}

TEST(Metrics, FlushWritesOnceThenForgets) {
  std::vector<std::string> lines;
  Metrics metrics("Custom/Ns", {{"Environment", "e\"1"}}, [&](std::string_view l) { lines.emplace_back(l); });
  metrics.flush(1);
  EXPECT_TRUE(lines.empty());
  metrics.add(metric::kTagLookups, 2);
  EXPECT_EQ(metrics.value(metric::kTagLookups), 2);
  metrics.flush(5);
  ASSERT_EQ(lines.size(), 1u);
  const auto doc = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Custom/Ns");
  EXPECT_EQ(doc["Environment"], "e\"1");
  EXPECT_EQ(doc["TagLookups"], 2);
  EXPECT_TRUE(metrics.empty());
  EXPECT_EQ(metrics.value(metric::kTagLookups), 0);
  metrics.flush(6);
  EXPECT_EQ(lines.size(), 1u);
}

}  // namespace
}  // namespace rcc
