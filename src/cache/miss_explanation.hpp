// jdc (internal) — why a lookup missed: the inputs recorded when a table of the same
// name was last stored, compared with the inputs now, in words.
//
// Cache layer. The first kind of difference found, in this order, is the reason: no
// record (never_seen; a record of an older jdc counts as none), compiler version,
// build configuration, declared signature, methods (added, removed, moved between
// modules or to another line: "method `area(Disk) -> f64` added in
// `geometry.shapes`"), domains and type definitions ("`Circle` gained subtype
// `Disk`", "`Circle` changed definition"), sources. The detail names up to three
// differences of that kind. Same inputs as recorded: the entry was evicted.
// The log is loaded once, at the first miss that needs it; records appended by this
// process later are not seen (they are of tables it has built, which it serves).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>
#include <vector>

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

    // True the first time it is asked for a digest whose domain record the log does
    // not hold: the caller writes it. Thread-safe.
    bool claim_domain_record(std::uint64_t digest) const;

private:
    Explanation explain_recorded(const TableInputs& inputs, const TypeRegistry& registry, const CacheKey& key) const;
    const InputsLog& log() const;  // under mutex_
    bool config_changed_unparsed(std::string_view record_text, std::string_view name) const;

    std::filesystem::path cache_directory_;
    const BuildIdentity& identity_;  // the manager's, which outlives this
    mutable std::mutex mutex_;
    mutable std::optional<InputsLog> log_;  // loaded at the first miss that needs it
    mutable std::unordered_set<std::uint64_t> claimed_;
    mutable std::string compiler_version_text_;  // config_changed_unparsed's, once
    // How a recorded domain differs from the current one, by (registry, declared type,
    // recorded digest, current digest): many tables share a domain, and diffing one of
    // thousands of types for each of them made a type edit's misses cost milliseconds
    // apiece. Under mutex_.
    using DomainDiffKey = std::tuple<const TypeRegistry*, TypeId, std::string, std::uint64_t>;
    mutable std::map<DomainDiffKey, std::vector<std::string>> domain_diffs_;
};

}  // namespace jdc::detail
