// What a server takes and what a GPU computes (issue 13): a chassis built around one GPU baseboard
// takes that baseboard's parts only (NVIDIA HGX H100/H200 takes H100/H200 SXM5, HGX H20 takes H20, the
// HGX H800 node DeepSeek serves on takes H800, Huawei's Atlas 800T A2 takes Ascend 910B), a chassis of
// standard slots any card of its form factor; fp8 weights need fp8 units (gpus.yaml: Ampere and the
// 910B have none), so a scenario asking for them on such a part is refused at the key that asks.
#include <gtest/gtest.h>

#include <string>

#include "catalog/catalog.hpp"
#include "scenario/loader.hpp"

namespace aidc {
namespace {

const std::string kScenarios = AIDC_TEST_SCENARIOS_DIR;

class CatalogFit : public ::testing::Test {
 protected:
  // The errors loading default.yaml with these overrides gives, as "key: message" lines.
  std::string errors_with(const std::vector<std::string>& sets) const {
    try {
      load_scenario(kScenarios + "/default.yaml", sets, catalog_);
    } catch (const InputErrors& e) {
      std::string text;
      for (const auto& error : e.errors()) text += error.key_path + ": " + error.message + "\n";
      return text;
    }
    return "";
  }
  bool takes(const std::string& server, const std::string& gpu) const { return catalog_.server(server)->accepts(*catalog_.gpu(gpu)); }
  Catalog catalog_ = Catalog::load(kScenarios);
};

TEST_F(CatalogFit, BaseboardChassisTakeTheirOwnPartsOnly) {
  // NVIDIA's HGX H100/H200 8-GPU baseboard; H200 is a drop-in for HGX H100 systems.
  EXPECT_TRUE(takes("hgx-8", "H100-SXM"));
  EXPECT_TRUE(takes("hgx-8", "H200-SXM"));
  EXPECT_FALSE(takes("hgx-8", "H20"));
  EXPECT_FALSE(takes("hgx-8", "H800"));
  EXPECT_TRUE(takes("hgx-h20-8", "H20"));
  EXPECT_FALSE(takes("hgx-h20-8", "H200-SXM"));  // the planner once priced H200 in this cheaper chassis
  EXPECT_FALSE(takes("hgx-h20-8", "H100-SXM"));
  EXPECT_TRUE(takes("hgx-h800-8", "H800"));
  EXPECT_FALSE(takes("hgx-h800-8", "H200-SXM"));
  EXPECT_TRUE(takes("ascend-8", "Ascend-910B"));
  EXPECT_FALSE(takes("ascend-8", "MI300X"));  // an OAM part, but not on Huawei's HCCS board
  // Slots take any card of their form factor, and never another form factor.
  EXPECT_TRUE(takes("pcie-8", "L40S"));
  EXPECT_TRUE(takes("pcie-8", "MLU370-X8"));
  EXPECT_FALSE(takes("pcie-8", "H100-SXM"));
}

TEST_F(CatalogFit, AScenarioWithAPartItsChassisDoesNotTakeIsRefusedAtTheGpu) {
  const std::string errors = errors_with({"datacenter.gpu=H200-SXM", "datacenter.server_type=hgx-h20-8"});
  EXPECT_NE(errors.find("datacenter.gpu: server type 'hgx-h20-8' takes H20, not H200-SXM"), std::string::npos) << errors;
  EXPECT_NE(errors_with({"datacenter.gpu=MI300X", "datacenter.server_type=ascend-8"}).find("takes Ascend-910B, not MI300X"),
            std::string::npos);
  EXPECT_EQ(errors_with({"datacenter.gpu=H200-SXM", "datacenter.server_type=hgx-8"}), "");
}

TEST_F(CatalogFit, Fp8WeightsOnAPartWithoutFp8UnitsAreRefusedAtThePrecision) {
  for (const auto& [gpu, server] : {std::pair{"A100-80G-SXM", "hgx-8"}, {"Ascend-910B", "ascend-8"}}) {
    const std::vector<std::string> on = {std::string("datacenter.gpu=") + gpu, std::string("datacenter.server_type=") + server};
    auto with = [&](const std::string& set) {
      auto sets = on;
      sets.push_back(set);
      return errors_with(sets);
    };
    const std::string errors = with("deployment.precision=fp8");
    EXPECT_NE(errors.find(std::string("deployment.precision: ") + gpu + " has no fp8 units"), std::string::npos) << errors;
    EXPECT_EQ(with("deployment.precision=int8"), "") << gpu;  // weight-only int8 and int4 stay open
    EXPECT_EQ(with("deployment.precision=int4"), "") << gpu;
    EXPECT_EQ(with("deployment.kv_cache_precision=fp8"), "") << gpu;  // a cache stored in fp8 needs no fp8 math
  }
  EXPECT_EQ(errors_with({"datacenter.gpu=H100-SXM", "deployment.precision=fp8"}), "");
  EXPECT_EQ(errors_with({"datacenter.gpu=MI300X", "deployment.precision=fp8"}), "");
  // A disaggregated pool on such a part is refused at the pool's GPU.
  const std::string pool = errors_with({"datacenter.gpu=H100-SXM", "deployment.precision=fp8",
                                        "deployment.decode.gpu=A100-80G-SXM"});
  EXPECT_NE(pool.find("deployment.decode.gpu: A100-80G-SXM has no fp8 units"), std::string::npos) << pool;
}

}  // namespace
}  // namespace aidc
