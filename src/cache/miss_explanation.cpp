#include "cache/miss_explanation.hpp"

#include <map>
#include <string>
#include <unordered_set>
#include <utility>

#include "cache/miss_record.hpp"
#include "cache/table_key.hpp"
#include "util/hex.hpp"

namespace jdc::detail {
using json = nlohmann::json;

std::optional<json> MissExplainer::recorded(std::string_view name, bool with_types) const {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!log_) log_ = InputsLog::load(cache_directory_);
    return log_->find(name, with_types);
}

Explanation MissExplainer::explain(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key) const {
    Explanation e;
    e.key = key;
    const auto because = [&](MissReason reason, std::string detail = {}) {
        e.reason = reason;
        e.detail = std::move(detail);
        return e;
    };
    // Without the types first: most misses are explained by a source, and the types
    // (every type of the domain) are most of a record.
    const auto rec = recorded(in.name, false);
    if (!rec) return because(MissReason::never_seen);
    if (rec->value("compiler_version", "") != identity_.compiler_version)
        return because(MissReason::compiler_changed, rec->value("compiler_version", "") + " -> " + identity_.compiler_version);
    if (rec->value("config_hash", "") != hex64(identity_.config_hash)) return because(MissReason::config_changed);

    static const json kNoObject = json::object();
    const json& old_sources = rec->contains("sources") && (*rec)["sources"].is_object() ? (*rec)["sources"] : kNoObject;
    std::unordered_set<std::string_view> current;
    for (const auto& src : in.sources) {
        current.insert(src.path);
        const auto old = old_sources.find(src.path);
        if (old == old_sources.end()) return because(MissReason::source_changed, src.path + " (new)");
        if (*old != src.content_hash.to_hex()) return because(MissReason::source_changed, src.path);
    }
    for (const auto& [path, hash] : old_sources.items())
        if (current.count(path) == 0) return because(MissReason::source_changed, path + " (no longer used)");

    if (rec->value("types_digest", "") != types_digest(in, reg)) {
        const std::uint64_t recorded_count = rec->value("types_count", std::uint64_t{0});
        if (rec->contains("types_digest") && (recorded_count > kRecordedTypesMax || in.types.size() > kRecordedTypesMax))
            return because(MissReason::type_changed,  // too many types to have been listed
                           "a type of its domain (" + std::to_string(recorded_count) + " types, now " + std::to_string(in.types.size()) + ")");
        // By name, in name order (as a record's JSON object reads back), a later type
        // of one name replacing an earlier one.
        std::map<std::string, std::string> now;
        for (TypeId t : in.types)
            if (const Type* type = reg.find(t)) now[type->name] = hex64(type->structural_hash);
        const auto full = recorded(in.name, true);
        const json& old_types = full && full->contains("types") ? (*full)["types"] : kNoObject;
        for (const auto& [name, hash] : now)
            if (!old_types.contains(name) || old_types[name] != hash)
                return because(MissReason::type_changed, "type '" + name + "'" + (old_types.contains(name) ? "" : " (new)"));
        for (const auto& [name, hash] : old_types.items())
            if (now.count(name) == 0) return because(MissReason::type_changed, "type '" + name + "' (removed)");
        // Same names and hashes: a record without a digest (older) or a collision.
        // Neither says a type changed: on to the signature.
    }
    if (rec->value("signature", "") != hex64(signature_hash(in.signature, reg))) return because(MissReason::signature_changed);
    return because(MissReason::evicted);
}

}  // namespace jdc::detail
