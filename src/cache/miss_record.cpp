#include "cache/miss_record.hpp"

#include <charconv>
#include <span>
#include <utility>
#include <vector>

#include "cache/inputs_log.hpp"
#include "cache/table_key.hpp"
#include "util/clock.hpp"
#include "util/hash_stream.hpp"
#include "util/hex.hpp"
#include "util/utf8.hpp"

namespace jdc::detail {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Nothing to escape: printable ASCII without quotes or backslashes (every
// identifier, most paths).
bool plain_ascii(std::string_view s) noexcept {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x80 || c == '"' || c == '\\') return false;
    }
    return true;
}

// The inside of `s` as a JSON string: quotes, backslashes and control characters
// escaped, and what is not UTF-8 (a path is bytes) replaced by U+FFFD (utf8.hpp), so
// that nlohmann::json's parser reads it back, as to_valid_utf8(s). Pieces may be
// escaped one by one when ASCII separates them (a multi-byte sequence never spans
// an ASCII byte). A record per miss: this is on a clean build's path.
void append_json_text(std::string& out, std::string_view raw) {
    if (plain_ascii(raw)) {
        out.append(raw);
        return;
    }
    const std::string valid = is_valid_utf8(raw) ? std::string() : to_valid_utf8(raw);
    const std::string_view s = valid.empty() ? raw : std::string_view(valid);
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const auto u = static_cast<unsigned char>(c);
        if (c != '"' && c != '\\' && u >= 0x20) continue;
        out.append(s.data() + run, i - run);
        run = i + 1;
        if (u < 0x20) {
            out += "\\u00";
            append_hex(out, u, 2);
        } else {
            out.push_back('\\');
            out.push_back(c);
        }
    }
    out.append(s.data() + run, s.size() - run);
}

void append_number(std::string& out, std::uint64_t v) {
    char text[20];
    const auto end = std::to_chars(text, text + sizeof text, v).ptr;
    out.append(text, end);
}

// "name": "16 hex", without a temporary string per field.
void append_hex_field(std::string& out, std::string_view name, std::uint64_t value) {
    out += ",\"";
    out += name;
    out += "\":\"";
    append_hex(out, value);
    out += '"';
}

// NAME(T1, T2) -> R as a JSON string, written in place (describe_method's and
// describe_signature's text).
void append_call_text(std::string& out, std::string_view name, std::span<const TypeId> parameters, TypeId result,
                      const TypeRegistry& reg) {
    const auto type_text = [&](TypeId id) {
        if (id == kInvalidType) return std::string_view("none");
        const Type* t = reg.find(id);
        return t != nullptr ? std::string_view(t->name) : std::string_view("?");
    };
    out.push_back('"');
    append_json_text(out, name);
    out.push_back('(');
    for (std::size_t p = 0; p < parameters.size(); ++p) {
        if (p) out += ", ";
        append_json_text(out, type_text(parameters[p]));
    }
    out += ") -> ";
    append_json_text(out, type_text(result));
    out.push_back('"');
}

std::vector<std::pair<std::string, std::string>> string_pairs(const json& object) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!object.is_object()) return out;
    for (const auto& [k, v] : object.items())
        if (v.is_string()) out.emplace_back(k, v.get<std::string>());
    return out;
}

// {"name": "16 hex", ...} of the members of `domain`.
void append_members(std::string& out, const TypeDomain& domain, const TypeRegistry& reg) {
    out += '{';
    for (std::uint32_t r = 0; r < domain.size(); ++r) {
        const Type* t = reg.find(domain.member(r));
        if (r) out += ',';
        append_json_string(out, t->name);
        out += ":\"";
        append_hex(out, t->structural_hash);
        out += '"';
    }
    out += '}';
}

}  // namespace

std::string domain_record_name(std::uint64_t digest) { return "domain:" + hex64(digest); }

void append_json_string(std::string& out, std::string_view raw) {
    out.push_back('"');
    append_json_text(out, raw);
    out.push_back('"');
}

std::string encode_inputs_record(const BuildIdentity& identity, const TableInputs& in, const TypeRegistry& reg, const CacheKey& key,
                                 std::uint64_t build_ns, std::string_view miss_reason, std::string_view miss_detail,
                                 const std::function<bool(std::uint64_t)>& record_domain) {
    std::string domains_lines;
    std::string out = InputsLog::name_hash(in.name);
    out.reserve(512 + 192 * in.methods.size() + 96 * in.sources.size());
    const auto field = [&](std::string_view name, std::string_view value) {
        out += ",\"";
        out += name;
        out += "\":";
        append_json_string(out, value);
    };
    out += " {\"v\":2,\"name\":";
    append_json_string(out, in.name);
    out += ",\"key\":\"";
    append_hex(out, key.hi);
    append_hex(out, key.lo);
    out += '"';
    field("compiler_version", identity.compiler_version);
    append_hex_field(out, "config_hash", identity.config_hash);
    out += ",\"signature\":";
    append_call_text(out, in.name, in.signature.parameter_types, in.signature.return_type, reg);
    append_hex_field(out, "signature_hash", signature_hash(in.signature, reg));
    out += ",\"domains\":[";
    for (std::size_t p = 0; p < in.signature.parameter_types.size(); ++p) {
        const TypeId declared = in.signature.parameter_types[p];
        const TypeDomain& d = reg.domain(declared);
        if (p) out += ',';
        out += "{\"type\":";
        append_json_string(out, type_name(reg, declared));
        out += ",\"digest\":\"";
        append_hex(out, d.digest());
        out += "\",\"size\":";
        append_number(out, d.size());
        out += '}';
        // The members of a domain are recorded once per digest, in a domain record
        // of their own: a record per table listing them made a clean build's records
        // a large share of its cache overhead. A domain of one type is its digest.
        if (d.size() > 1 && record_domain && record_domain(d.digest())) {
            const std::string name = domain_record_name(d.digest());
            domains_lines += InputsLog::name_hash(name) + " {\"name\":\"" + name + "\",\"type\":";
            append_json_string(domains_lines, type_name(reg, declared));
            domains_lines += ",\"members\":";
            append_members(domains_lines, d, reg);
            domains_lines += "}\n";
        }
    }
    out += "],\"methods_known\":";
    out += in.methods_known ? "true" : "false";
    append_hex_field(out, "methods_hash", methods_hash(in, reg));
    out += ",\"methods\":[";
    for (std::size_t i = 0; i < in.methods.size(); ++i) {
        const MethodInput& m = in.methods[i];
        out += i ? ",[" : "[";
        append_call_text(out, m.name, m.parameter_types, m.return_type, reg);
        out += ',';
        append_json_string(out, m.module);
        out += ',';
        append_json_string(out, m.file);
        out += ',';
        append_number(out, m.line);
        out += ',';
        append_number(out, m.column);
        out += ']';
    }
    out += "],\"sources\":{";
    for (std::size_t i = 0; i < in.sources.size(); ++i) {
        if (i) out += ',';
        append_json_string(out, in.sources[i].path);
        out += ':';
        append_json_string(out, in.sources[i].content_hash.to_hex());
    }
    out += "},\"build_ns\":";
    append_number(out, build_ns);
    if (!miss_reason.empty()) {
        field("miss_reason", miss_reason);
        field("miss_detail", miss_detail);
        out += ",\"recorded_at_ns\":";
        append_number(out, wall_clock_ns());
    }
    out += "}\n";
    if (domains_lines.empty()) return out;
    domains_lines += out;
    return domains_lines;
}

std::optional<RecordedInputs> decode_inputs_record(const fs::path& file, const json& j) {
    if (!j.is_object() || !j.contains("key") || !j["key"].is_string()) return std::nullopt;
    const auto key = CacheKey::from_hex(j["key"].get<std::string>());
    if (!key) return std::nullopt;
    auto text_of = [](const json& o, const char* field) {
        return o.is_object() && o.contains(field) && o[field].is_string() ? o[field].get<std::string>() : std::string();
    };
    auto number_of = [](const json& o, const char* field) {
        return o.is_object() && o.contains(field) && o[field].is_number_unsigned() ? o[field].get<std::uint64_t>() : 0;
    };
    RecordedInputs r;
    r.file = file;
    r.key = *key;
    r.name = text_of(j, "name");
    r.version = j.contains("v") && j["v"].is_number_integer() ? j["v"].get<int>() : 0;
    if (r.version != kRecordVersion) return r;  // an older jdc's record: its inputs are not comparable
    r.compiler_version = text_of(j, "compiler_version");
    r.config_hash = text_of(j, "config_hash");
    r.signature = text_of(j, "signature");
    if (j.contains("domains") && j["domains"].is_array())
        for (const json& d : j["domains"]) r.domains.push_back({text_of(d, "type"), text_of(d, "digest"), number_of(d, "size")});
    r.methods_known = !(j.contains("methods_known") && j["methods_known"].is_boolean()) || j["methods_known"].get<bool>();
    if (j.contains("methods") && j["methods"].is_array())
        for (const json& m : j["methods"]) {
            if (!m.is_array() || m.size() < 5 || !m[0].is_string() || !m[1].is_string() || !m[2].is_string() || !m[3].is_number_unsigned() ||
                !m[4].is_number_unsigned())
                continue;
            r.methods.push_back({m[0].get<std::string>(), m[1].get<std::string>(), m[2].get<std::string>(), m[3].get<std::uint64_t>(),
                                 m[4].get<std::uint64_t>()});
        }
    if (j.contains("sources")) r.sources = string_pairs(j["sources"]);
    r.build_ns = number_of(j, "build_ns");
    r.recorded_at_ns = number_of(j, "recorded_at_ns");
    r.miss_reason = text_of(j, "miss_reason");
    r.miss_detail = text_of(j, "miss_detail");
    return r;
}

}  // namespace jdc::detail

namespace jdc {

std::optional<RecordedInputs> find_recorded_inputs(const std::filesystem::path& cache_directory, std::string_view name) {
    const detail::InputsLog log = detail::InputsLog::load(cache_directory);
    const auto j = log.find(name);
    if (!j) return std::nullopt;
    return detail::decode_inputs_record(detail::InputsLog::path_in(cache_directory), *j);
}

std::optional<RecordedInputs> find_recorded_inputs(const std::filesystem::path& cache_directory, const CacheKey& key) {
    // The log is indexed by table name; the key is inside each record.
    const std::string wanted = key.to_hex();
    const detail::InputsLog log = detail::InputsLog::load(cache_directory);
    for (const nlohmann::json& j : log.all())
        if (j.contains("key") && j["key"].is_string() && j["key"].get<std::string>() == wanted)
            if (auto record = detail::decode_inputs_record(detail::InputsLog::path_in(cache_directory), j)) return record;
    return std::nullopt;
}

}  // namespace jdc
