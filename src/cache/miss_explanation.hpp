// jdc (internal) — why a lookup missed: the inputs recorded when a table of the same
// name was last stored, compared with the inputs now.
//
// Cache layer. The first difference found, in this order, is the reason: no record
// (never_seen), compiler version, build configuration, sources (the path of the first
// file that changed, appeared or is no longer used), types (the first type by name
// that changed, appeared or was removed, where the record lists them; else how many
// types the domain has), signature. Same inputs as recorded: the entry was evicted.
// The log is loaded once, at the first miss that needs it; records appended by this
// process later are not seen (they are of tables it has built, which it serves).
#pragma once

#include <filesystem>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "cache/inputs_log.hpp"
#include "jdc/miss_reason.hpp"
#include "jdc/table_inputs.hpp"
#include "jdc/type_registry.hpp"

namespace jdc::detail {

class MissExplainer {
public:
    MissExplainer(std::filesystem::path cache_directory, const BuildIdentity& identity)
        : cache_directory_(std::move(cache_directory)), identity_(identity) {}

    // Thread-safe.
    Explanation explain(const TableInputs& inputs, const TypeRegistry& registry, const CacheKey& key) const;

private:
    std::optional<nlohmann::json> recorded(std::string_view name, bool with_types) const;

    std::filesystem::path cache_directory_;
    const BuildIdentity& identity_;  // the manager's, which outlives this
    mutable std::mutex mutex_;
    mutable std::optional<InputsLog> log_;  // loaded at the first miss that needs it
};

}  // namespace jdc::detail
