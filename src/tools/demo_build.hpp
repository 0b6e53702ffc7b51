// `jdc demo-build`: a synthetic compiler build run twice through the cache.
#pragma once

#include <cstdint>
#include <string>

namespace jdc::tools {

struct DemoOptions {
    std::string cache_dir = ".janus_cache/demo";
    std::uint32_t functions = 300;
    std::uint32_t types = 120;
    std::uint64_t seed = 1;
    bool json = false;  // one JSON document (both build reports) instead of text
};

// Returns the process exit code: 0 when the warm build served every table from the
// cache and every table equals the one built cold; 1 otherwise; 2 on cache errors.
int run_demo_build(const DemoOptions& options);

}  // namespace jdc::tools
