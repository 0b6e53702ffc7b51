// jdc (internal) — the record of a stored table, as the inputs log keeps it: what the
// table was stored with and why it had to be built.
//
// Cache layer. One encoder (the manager appends its output to the inputs log when
// the table is written) and one decoder (RecordedInputs, for `jdc explain` and the
// miss explanations). A record is one line of inputs.jdcl (inputs_log.hpp): the
// table name's hash, a space, then a compact JSON object
//   {"v": 2, "name", "key" (32 hex), "compiler_version", "config_hash" (16 hex),
//    "signature" ("collide(Shape, Shape) -> bool"), "signature_hash" (16 hex),
//    "domains": [{"type", "digest" (16 hex), "size"}],
//    "methods_known", "methods_hash" (16 hex),
//    "methods": [[text, module, file, line, column]],
//    "sources": {path: 32 hex}, "build_ns",
//    and for a miss: "miss_reason", "miss_detail", "recorded_at_ns"}
// A domain's members are recorded once per digest, in a *domain record* of the same
// log named "domain:<digest>" (listing them in every table's record made the records
// quadratic in the project, and most of a clean build's cache overhead):
//   {"name": "domain:<16 hex>", "type", "members": {name: 16 hex}}
// so that a change of it can be explained by name ("`Circle` gained subtype
// `Disk`"). A domain of one type needs none: its digest says it all. Records of
// older jdc versions (no "v") read as records of unknown inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jdc/cache_key.hpp"
#include "jdc/cache_records.hpp"
#include "jdc/table_inputs.hpp"
#include "jdc/type_registry.hpp"

namespace jdc::detail {

inline constexpr int kRecordVersion = 2;

// The name of the domain record of a domain with this digest.
std::string domain_record_name(std::uint64_t digest);

// `s` as the encoder writes a JSON string (quoted, escaped, what is not UTF-8 as
// U+FFFD), appended to `out`: for readers that match a record's text without parsing it.
void append_json_string(std::string& out, std::string_view s);

// The inputs log lines (with their newlines) of a table stored under `key`: its
// record, preceded by the domain records of its large domains for which
// `record_domain(digest)` returns true (the caller's "not yet in the log"). An empty
// `miss_reason` records a table that was not built here (a remote hit): no miss
// fields then. Written directly, not through a json object: a std::map-backed object
// per miss was most of a clean build's cache overhead.
std::string encode_inputs_record(const BuildIdentity& identity, const TableInputs& inputs, const TypeRegistry& registry,
                                 const CacheKey& key, std::uint64_t build_ns, std::string_view miss_reason,
                                 std::string_view miss_detail, const std::function<bool(std::uint64_t)>& record_domain);

// A parsed record as RecordedInputs; nullopt when it has no valid key.
std::optional<RecordedInputs> decode_inputs_record(const std::filesystem::path& file, const nlohmann::json& record);

}  // namespace jdc::detail
