#include "cache/miss_explanation.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "cache/miss_record.hpp"
#include "cache/table_key.hpp"
#include "util/hex.hpp"
#include "util/utf8.hpp"

namespace jdc::detail {
using json = nlohmann::json;

namespace {

// Up to three differences, "; "-separated, then how many more.
std::string listing(const std::vector<std::string>& items) {
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < 3; ++i) out += (i ? "; " : "") + items[i];
    if (items.size() > 3) out += "; and " + std::to_string(items.size() - 3) + " more";
    return out;
}

std::string backticked(std::string_view s) { return "`" + std::string(s) + "`"; }

// The methods' differences: added, removed, moved between modules or to another
// place. A method whose text and place are unchanged but one of whose types was
// redefined is not one of them: the domains explain that.
struct MethodDiff {
    std::vector<std::string> changes;
};

MethodDiff diff_methods(const json& old_methods, const TableInputs& in, const TypeRegistry& reg) {
    struct Old {
        std::string file;
        std::uint64_t line, column;
        bool matched = false;
    };
    std::multimap<std::pair<std::string, std::string>, Old> before;  // (text, module) -> where and hash
    if (old_methods.is_array())
        for (const json& m : old_methods)
            if (m.is_array() && m.size() >= 5 && m[0].is_string() && m[1].is_string() && m[2].is_string() && m[3].is_number_unsigned() &&
                m[4].is_number_unsigned())
                before.emplace(std::pair{m[0].get<std::string>(), m[1].get<std::string>()},
                               Old{m[2].get<std::string>(), m[3].get<std::uint64_t>(), m[4].get<std::uint64_t>()});
    MethodDiff d;
    std::vector<const MethodInput*> added;
    for (const MethodInput& m : in.methods) {
        // As recorded: what is not UTF-8 became U+FFFD (miss_record.cpp).
        const std::string text = to_valid_utf8(describe_method(m, reg));
        auto [first, last] = before.equal_range({text, to_valid_utf8(m.module)});
        auto it = std::find_if(first, last, [](const auto& e) { return !e.second.matched; });
        if (it == last) {
            added.push_back(&m);
            continue;
        }
        it->second.matched = true;
        if (it->second.file != to_valid_utf8(m.file) || it->second.line != m.line || it->second.column != m.column)
            d.changes.push_back("method " + backticked(text) + " of " + backticked(m.module) + " moved to " + std::string(m.file) + ":" +
                                std::to_string(m.line) + ":" + std::to_string(m.column));
    }
    for (const MethodInput* m : added) {
        const std::string text = to_valid_utf8(describe_method(*m, reg));
        // A method that left another module for this one is a move, not an addition.
        auto moved = std::find_if(before.begin(), before.end(), [&](const auto& e) { return !e.second.matched && e.first.first == text; });
        if (moved != before.end()) {
            moved->second.matched = true;
            d.changes.push_back("method " + backticked(text) + " moved from " + backticked(moved->first.second) + " to " + backticked(m->module));
        } else {
            d.changes.push_back("method " + backticked(text) + " added in " + backticked(m->module));
        }
    }
    for (const auto& [what, old] : before)
        if (!old.matched) d.changes.push_back("method " + backticked(what.first) + " removed from " + backticked(what.second));
    return d;
}

// Members (name -> 16-hex hash) of a recorded domain: inline in the record, else in
// the log's domain record; nullopt when neither has them.
std::optional<std::map<std::string, std::string>> recorded_members(const json& domain, const InputsLog& log) {
    const json* members = domain.contains("members") ? &domain["members"] : nullptr;
    std::optional<json> from_log;
    if (members == nullptr) {
        from_log = log.find("domain:" + domain.value("digest", ""));
        if (!from_log || !from_log->contains("members")) return std::nullopt;
        members = &(*from_log)["members"];
    }
    if (!members->is_object()) return std::nullopt;
    std::map<std::string, std::string> out;
    for (const auto& [name, hash] : members->items())
        if (hash.is_string()) out.emplace(name, hash.get<std::string>());
    return out;
}

// How the domain of `declared` changed since `recorded`: types gained (named by the
// supertype they joined), removed, or redefined (only the shallowest, whose change
// is the cause of its subtypes').
std::vector<std::string> diff_domain(const json& recorded, TypeId declared, const TypeRegistry& reg, const InputsLog& log) {
    const TypeDomain& now = reg.domain(declared);
    const std::string declared_name = type_name(reg, declared);
    const auto before = recorded_members(recorded, log);
    if (!before)
        return {"the domain of " + backticked(declared_name) + " changed (" + std::to_string(recorded.value("size", std::uint64_t{0})) +
                " types, now " + std::to_string(now.size()) + ")"};
    std::vector<std::string> out;
    std::map<std::string, bool> seen;
    std::uint32_t shallowest = UINT32_MAX;
    std::vector<const Type*> redefined;
    for (TypeId id : now.members()) {
        const Type* t = reg.find(id);
        const std::string recorded_name = to_valid_utf8(t->name);
        seen[recorded_name] = true;
        const auto old = before->find(recorded_name);
        if (old == before->end()) {
            std::string joined;
            for (TypeId s : t->supertypes)
                if (now.rank_of(s) != kNotInDomain && before->count(to_valid_utf8(reg.find(s)->name))) joined += (joined.empty() ? "" : " and ") + backticked(reg.find(s)->name);
            out.push_back(joined.empty() ? backticked(t->name) + " joined the domain of " + backticked(declared_name)
                                         : joined + " gained subtype " + backticked(t->name));
        } else if (old->second != hex64(t->structural_hash)) {
            redefined.push_back(t);
            shallowest = std::min(shallowest, t->depth);
        }
    }
    for (const Type* t : redefined)
        if (t->depth == shallowest) out.push_back(backticked(t->name) + " changed definition");
    for (const auto& [name, hash] : *before)
        if (!seen.count(name)) out.push_back(backticked(name) + " left the domain of " + backticked(declared_name));
    return out;
}

}  // namespace

// A changed build configuration misses every table at once (a flag changed): each
// explanation would parse a whole record to compare two fields. The fields are read
// in place when the line is laid out as encode_inputs_record writes it (version,
// name, key, compiler version, config hash, in this order); anything else, and any
// doubt, falls back to parsing, which gives the same answer.
// The record's text as the encoder (miss_record.cpp) wrote it, compared piece by
// piece: a build with a new configuration misses every table, and parsing each
// record, or even building its prefix with a JSON library, cost more than the rest of
// the miss. Under mutex_.
bool MissExplainer::config_changed_unparsed(std::string_view text, std::string_view name) const {
    if (text.empty()) return false;
    std::string expected = "{\"v\":" + std::to_string(kRecordVersion) + ",\"name\":";
    append_json_string(expected, name);
    expected += ",\"key\":\"";
    if (!text.starts_with(expected)) return false;
    text.remove_prefix(expected.size() + 32);  // the key's 32 hex digits
    if (compiler_version_text_.empty()) {
        compiler_version_text_ = "\",\"compiler_version\":";
        append_json_string(compiler_version_text_, identity_.compiler_version);
        compiler_version_text_ += ",\"config_hash\":\"";
    }
    const std::string_view middle = compiler_version_text_;
    if (!text.starts_with(middle) || text.size() < middle.size() + 17) return false;
    const std::string_view recorded = text.substr(middle.size(), 16);
    return text[middle.size() + 16] == '"' && recorded != hex64(identity_.config_hash);
}

const InputsLog& MissExplainer::log() const {
    if (!log_) log_ = InputsLog::load(cache_directory_);
    return *log_;
}

bool MissExplainer::claim_domain_record(std::uint64_t digest) const {
    std::lock_guard<std::mutex> guard(mutex_);
    if (!claimed_.insert(digest).second) return false;
    return !log().contains(domain_record_name(digest));
}

Explanation MissExplainer::explain(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key) const {
    // The log is a file anyone who can write the cache can edit: a record whose fields
    // have other JSON types than written makes nlohmann's accessors throw. Such a
    // record explains nothing; it must not end the build.
    try {
        return explain_recorded(in, reg, key);
    } catch (const nlohmann::json::exception& e) {
        return {false, MissReason::never_seen, std::string("the recorded inputs are damaged (") + e.what() + ")", key};
    }
}

Explanation MissExplainer::explain_recorded(const TableInputs& in, const TypeRegistry& reg, const CacheKey& key) const {
    Explanation e;
    e.key = key;
    const auto because = [&](MissReason reason, std::string detail = {}) {
        e.reason = reason;
        e.detail = std::move(detail);
        return e;
    };
    std::lock_guard<std::mutex> guard(mutex_);
    const InputsLog& log = this->log();
    if (config_changed_unparsed(log.find_text(in.name), in.name)) return because(MissReason::config_changed);
    const auto rec = log.find(in.name);
    if (!rec) return because(MissReason::never_seen);
    if (rec->value("v", 0) != kRecordVersion) return because(MissReason::never_seen, "its inputs were recorded by an older jdc");
    if (rec->value("compiler_version", "") != to_valid_utf8(identity_.compiler_version))
        return because(MissReason::compiler_changed, rec->value("compiler_version", "") + " -> " + identity_.compiler_version);
    if (rec->value("config_hash", "") != hex64(identity_.config_hash)) return because(MissReason::config_changed);
    if (rec->value("signature_hash", "") != hex64(signature_hash(in.signature, reg)))
        return because(MissReason::signature_changed, "signature of " + backticked(in.name) + " was " + backticked(rec->value("signature", "?")) +
                                                          ", now " + backticked(describe_signature(in.name, in.signature, reg)));
    const bool known_before = rec->value("methods_known", true);
    if (known_before != in.methods_known || (in.methods_known && rec->value("methods_hash", "") != hex64(methods_hash(in, reg)))) {
        const MethodDiff d = diff_methods(rec->contains("methods") ? (*rec)["methods"] : json::array(), in, reg);
        if (!d.changes.empty()) return because(MissReason::methods_changed, listing(d.changes));
        // Same methods in the same places: one of their types was redefined, which
        // the domains below name (or, for a return type, nothing else does).
    }
    std::vector<std::string> type_changes;
    const json& domains = rec->contains("domains") && (*rec)["domains"].is_array() ? (*rec)["domains"] : json::array();
    for (std::size_t p = 0; p < in.signature.parameter_types.size() && p < domains.size(); ++p) {
        const TypeId declared = in.signature.parameter_types[p];
        const std::uint64_t digest_now = reg.domain(declared).digest();
        std::string recorded_digest = domains[p].value("digest", "");
        if (recorded_digest == hex64(digest_now)) continue;
        DomainDiffKey memo_key{&reg, declared, std::move(recorded_digest), digest_now};
        auto memo = domain_diffs_.find(memo_key);
        if (memo == domain_diffs_.end())
            memo = domain_diffs_.emplace(std::move(memo_key), diff_domain(domains[p], declared, reg, log)).first;
        for (const std::string& change : memo->second)
            if (std::find(type_changes.begin(), type_changes.end(), change) == type_changes.end()) type_changes.push_back(change);
    }
    if (!type_changes.empty()) return because(MissReason::type_changed, listing(type_changes));
    if (in.methods_known && rec->value("methods_hash", "") != hex64(methods_hash(in, reg)))
        return because(MissReason::type_changed, "a type that a method of " + backticked(in.name) + " returns changed definition");

    const json& old_sources = rec->contains("sources") && (*rec)["sources"].is_object() ? (*rec)["sources"] : json::object();
    std::vector<std::string> source_changes;
    std::unordered_set<std::string_view> current;
    std::vector<std::string> recorded_paths;  // as recorded (utf8.hpp), owned for `current`
    recorded_paths.reserve(in.sources.size());
    for (const auto& src : in.sources) recorded_paths.push_back(to_valid_utf8(src.path));
    for (std::size_t i = 0; i < in.sources.size(); ++i) {
        const std::string& path = recorded_paths[i];
        current.insert(path);
        const auto old = old_sources.find(path);
        if (old == old_sources.end()) source_changes.push_back(path + " (new)");
        else if (*old != in.sources[i].content_hash.to_hex()) source_changes.push_back(path);
    }
    for (const auto& [path, hash] : old_sources.items())
        if (current.count(path) == 0) source_changes.push_back(path + " (no longer used)");
    if (!source_changes.empty()) return because(MissReason::source_changed, listing(source_changes));
    return because(MissReason::evicted);
}

}  // namespace jdc::detail
