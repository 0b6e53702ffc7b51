// jdc — the record of what an optimizer did to a table.
//
// Format v1 stores the type, the ratio and the memory saved in the arena header so
// `jdc inspect` and the cache statistics can report them without re-running anything.
#pragma once

#include <cstdint>
#include <string_view>

#include "jdc/export.hpp"

namespace jdc {

// Values are part of the on-disk format (header byte 36); never renumber.
enum class OptimizationType : std::uint8_t {
    none = 0,
    compression = 1,
    advanced_compression = 2,
    sharing = 3,
    redundancy_elimination = 4,
    hot_path_optimization = 5,
    combined = 6,
};
inline constexpr std::uint8_t kOptimizationTypeCount = 7;

JDC_API std::string_view to_string(OptimizationType type) noexcept;

struct CompressionStats {
    std::uint64_t original_bytes = 0;
    std::uint64_t compressed_bytes = 0;
    std::uint64_t dictionary_bytes = 0;
};

struct OptimizationResult {
    OptimizationType type = OptimizationType::none;
    std::uint64_t memory_saved = 0;     // bytes
    double compression_ratio = 1.0;     // compressed / original bytes; 1.0 = unchanged
    double performance_improvement = 0; // fraction of lookup time saved, 0 when unmeasured
    CompressionStats compression;
};

}  // namespace jdc
