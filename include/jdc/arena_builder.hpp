// jdc — writes a dispatch table into the bytes of a format v1 arena.
//
// Pure: no I/O. The output is deterministic for a given table, registry and
// created_at_ns, which is what the golden vectors in tests/data rely on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "jdc/cache_key.hpp"
#include "jdc/dispatch_table.hpp"
#include "jdc/optimization.hpp"

namespace jdc {

struct ArenaBuildOptions {
    // Creation timestamp written to the header (Unix epoch, nanoseconds).
    // 0 means "now" from the system clock.
    std::uint64_t created_at_ns = 0;
};

// Builds the arena. Fails with invalid_argument when the table does not validate
// against the registry (see validate()) or does not fit the format's u32 offsets.
Result<std::vector<std::byte>> build_arena(const DispatchTable& table, const TypeRegistry& registry,
                                           const OptimizationResult& optimization = {},
                                           const ArenaBuildOptions& options = {});

// Identity of a table's content, independent of encoding and of registry ids: what
// the header's table_hash holds (format-spec/arena-v1.md, "table_hash"). Call
// frequencies are excluded, so new profile data does not change a table's identity.
std::uint64_t table_content_hash(const DispatchTable& table, const TypeRegistry& registry);

// A 128-bit key over the same content plus the arena format version: the key under
// which DispatchTableSerializer stores a table it is given whole.
CacheKey table_content_key(const DispatchTable& table, const TypeRegistry& registry);

}  // namespace jdc
