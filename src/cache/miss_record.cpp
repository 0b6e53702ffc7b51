#include "cache/miss_record.hpp"

#include <utility>
#include <vector>

#include "cache/inputs_log.hpp"
#include "cache/table_key.hpp"
#include "util/clock.hpp"
#include "util/hex.hpp"

namespace jdc::detail {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// `s` as a JSON string: quoted, with quotes, backslashes and control characters
// escaped (what nlohmann::json's parser reads back as `s`).
void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20) {
            out += "\\u00";
            append_hex(out, u, 2);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

std::vector<std::pair<std::string, std::string>> string_pairs(const json& object) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!object.is_object()) return out;
    for (const auto& [k, v] : object.items())
        if (v.is_string()) out.emplace_back(k, v.get<std::string>());
    return out;
}

}  // namespace

std::string encode_inputs_record(const BuildIdentity& identity, const TableInputs& in, const TypeRegistry& reg, const CacheKey& key,
                                 std::uint64_t build_ns, std::string_view miss_reason, std::string_view miss_detail) {
    std::string out = InputsLog::name_hash(in.name);
    out.reserve(256 + 48 * (in.sources.size() + in.types.size()));
    const auto field = [&](std::string_view name, std::string_view value) {
        out += ",\"";
        out += name;
        out += "\":";
        append_json_string(out, value);
    };
    out += " {\"name\":";
    append_json_string(out, in.name);
    field("key", key.to_hex());
    field("compiler_version", identity.compiler_version);
    field("config_hash", hex64(identity.config_hash));
    field("signature", hex64(signature_hash(in.signature, reg)));
    out += ",\"sources\":{";
    bool first = true;
    for (const auto& src : in.sources) {
        if (!std::exchange(first, false)) out += ',';
        append_json_string(out, src.path);
        out += ':';
        append_json_string(out, src.content_hash.to_hex());
    }
    out += "},\"types\":{";
    first = true;
    if (in.types.size() <= kRecordedTypesMax)
        for (TypeId t : in.types) {
            const Type* type = reg.find(t);
            if (type == nullptr) continue;
            if (!std::exchange(first, false)) out += ',';
            append_json_string(out, type->name);
            out += ':';
            append_json_string(out, hex64(type->structural_hash));
        }
    out += "},\"types_count\":" + std::to_string(in.types.size());
    out += ",\"types_digest\":\"" + types_digest(in, reg) + "\"";
    out += ",\"build_ns\":" + std::to_string(build_ns);
    if (!miss_reason.empty()) {
        field("miss_reason", miss_reason);
        field("miss_detail", miss_detail);
        out += ",\"recorded_at_ns\":" + std::to_string(wall_clock_ns());
    }
    out += "}\n";
    return out;
}

std::optional<RecordedInputs> decode_inputs_record(const fs::path& file, const json& j) {
    if (!j.is_object() || !j.contains("key") || !j["key"].is_string()) return std::nullopt;
    const auto key = CacheKey::from_hex(j["key"].get<std::string>());
    if (!key) return std::nullopt;
    auto text = [&](const char* field) { return j.contains(field) && j[field].is_string() ? j[field].get<std::string>() : std::string(); };
    auto number = [&](const char* field) { return j.contains(field) && j[field].is_number_unsigned() ? j[field].get<std::uint64_t>() : 0; };
    RecordedInputs r;
    r.file = file;
    r.key = *key;
    r.name = text("name");
    r.compiler_version = text("compiler_version");
    r.config_hash = text("config_hash");
    r.signature = text("signature");
    if (j.contains("sources")) r.sources = string_pairs(j["sources"]);
    if (j.contains("types")) r.types = string_pairs(j["types"]);
    r.build_ns = number("build_ns");
    r.recorded_at_ns = number("recorded_at_ns");
    r.miss_reason = text("miss_reason");
    r.miss_detail = text("miss_detail");
    return r;
}

}  // namespace jdc::detail

namespace jdc {

std::optional<RecordedInputs> find_recorded_inputs(const std::filesystem::path& cache_directory, const CacheKey& key) {
    // The log is indexed by table name; the key is inside each record.
    const std::string wanted = key.to_hex();
    const detail::InputsLog log = detail::InputsLog::load(cache_directory);
    for (const nlohmann::json& j : log.all())
        if (j.value("key", "") == wanted)
            if (auto record = detail::decode_inputs_record(detail::InputsLog::path_in(cache_directory), j)) return record;
    return std::nullopt;
}

}  // namespace jdc
