// jdc (internal) — the record of a stored table, as the inputs log keeps it: what the
// table was stored with and why it had to be built.
//
// Cache layer. One encoder (the manager appends its output to the inputs log when
// the table is written) and one decoder (RecordedInputs, for `jdc explain` and the
// miss explanations). A record is one line of inputs.jdcl (inputs_log.hpp): the
// table name's hash, a space, then a compact JSON object
//   {"name", "key" (32 hex), "compiler_version", "config_hash" (16 hex),
//    "signature" (16 hex, signature_hash), "sources" {path: 32 hex},
//    "types" {type name: 16 hex structural hash}, "types_count",
//    "types_digest" (32 hex, types_digest), "build_ns",
//    and for a miss: "miss_reason", "miss_detail", "recorded_at_ns"}
// "types" lists the types by name only for domains of at most kRecordedTypesMax
// types: listing every type of every table made the records quadratic in the project
// (200 MB for the large janusc project). The digest tells a change in any domain;
// the names say which type, where listed. Readers accept records without the fields
// added later (types_count, types_digest, miss_*, recorded_at_ns).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jdc/cache_key.hpp"
#include "jdc/cache_records.hpp"
#include "jdc/table_inputs.hpp"
#include "jdc/type_registry.hpp"

namespace jdc::detail {

inline constexpr std::size_t kRecordedTypesMax = 32;

// The inputs log line (with its newline) of a table stored under `key`. An empty
// `miss_reason` records a table that was not built here (a remote hit): no miss
// fields then. Written directly, not through a json object: a std::map-backed
// object per miss was most of a clean build's cache overhead.
std::string encode_inputs_record(const BuildIdentity& identity, const TableInputs& inputs, const TypeRegistry& registry,
                                 const CacheKey& key, std::uint64_t build_ns, std::string_view miss_reason,
                                 std::string_view miss_detail);

// A parsed record as RecordedInputs; nullopt when it has no valid key.
std::optional<RecordedInputs> decode_inputs_record(const std::filesystem::path& file, const nlohmann::json& record);

}  // namespace jdc::detail
