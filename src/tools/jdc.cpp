// jdc — the command-line tool for dispatch-table arenas and the cache directory.
//
// Exit codes: 0 success / valid, 1 invalid arena, failed check or problem found,
// 2 usage or I/O error. The cache subcommands live in cache_commands.cpp.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "jdc/arena_builder.hpp"
#include "jdc/arena_optimizer.hpp"
#include "jdc/detail/atomic_file.hpp"
#include "jdc/loaded_arena.hpp"
#include "tools/cache_commands.hpp"
#include "tools/demo_build.hpp"
#include "util/hex.hpp"
#include "tools/tool_support.hpp"

namespace {

using jdc::tools::kExitInvalid;
using jdc::tools::kExitOk;
using jdc::tools::kExitUsage;
using json = nlohmann::json;

// Header fields as inspect prints them: full width, so columns of hashes line up.
std::string hex(std::uint64_t v) { return "0x" + jdc::detail::hex64(v); }

std::string iso_time(std::uint64_t ns) {
    const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000ull);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned long long>(ns % 1'000'000'000ull));
    return buf;
}

std::string effects_text(std::uint32_t effects) {
    if (effects == 0) return "pure";
    std::string s;
    const std::pair<std::uint32_t, const char*> names[] = {{1, "cpu"}, {2, "io"}, {4, "fs"}, {8, "net"}};
    for (auto [bit, name] : names)
        if (effects & bit) s += (s.empty() ? "" : "|") + std::string(name);
    if (effects & ~jdc::kKnownEffectBits) s += (s.empty() ? "" : "|") + hex(effects & ~jdc::kKnownEffectBits);
    return s;
}

const char* section_name(std::uint32_t kind) {
    switch (static_cast<jdc::arena::SectionKind>(kind)) {
        case jdc::arena::SectionKind::strings: return "strings";
        case jdc::arena::SectionKind::types: return "types";
        case jdc::arena::SectionKind::signature: return "signature";
        case jdc::arena::SectionKind::entries: return "entries";
        case jdc::arena::SectionKind::parameters: return "parameters";
        case jdc::arena::SectionKind::dispatch_index: return "dispatch_index";
    }
    return "unknown";
}

std::string type_ref(const jdc::ArenaView& v, std::uint32_t local) {
    if (local == jdc::arena::kNoLocalType) return "(none)";
    return std::string(v.type(local).name);
}

void print_arena(const jdc::ArenaView& v, std::ostream& out) {
    const auto& h = v.header();
    out << "format:        " << v.version_major() << "." << v.version_minor() << "\n"
        << "size:          " << h.total_size << " bytes\n"
        << "table hash:    " << hex(h.table_hash) << "\n"
        << "key:           " << (v.key().is_zero() ? std::string("none") : v.key().to_hex()) << "\n"
        << "created:       " << iso_time(h.created_at_ns) << "\n"
        << "signature:     " << v.signature_name() << "(";
    for (std::uint32_t p = 0; p < v.arity(); ++p) out << (p ? ", " : "") << type_ref(v, v.declared_parameter(p));
    out << ") -> " << type_ref(v, v.declared_return_type()) << "\n"
        << "arity:         " << v.arity() << "\n"
        << "entries:       " << v.entry_count() << "\n"
        << "types:         " << v.type_count() << "\n"
        << "optimization:  " << jdc::to_string(v.optimization_type()) << " (compression ratio " << v.compression_ratio()
        << ", memory saved " << v.memory_saved() << " bytes)\n"
        << "checksums:     data " << hex(h.data_checksum) << ", metadata " << hex(h.metadata_checksum) << " (XXH3-64)\n";
    out << "sections:\n";
    for (std::uint32_t i = 0; i < h.section_count; ++i) {
        jdc::arena::SectionEntry e;
        std::memcpy(&e, v.bytes().data() + h.section_dir_offset + i * sizeof e, sizeof e);
        char line[128];
        std::snprintf(line, sizeof line, "  %-14s offset %8llu  size %8llu%s\n", section_name(e.kind),
                      static_cast<unsigned long long>(e.offset), static_cast<unsigned long long>(e.size),
                      (e.flags & jdc::arena::kSectionRequired) ? "  required" : "");
        out << line;
    }
    out << jdc::describe_dispatch_forms(v);
    out << "types:\n";
    for (std::uint32_t i = 0; i < v.type_count(); ++i) {
        const jdc::LocalType t = v.type(i);
        out << "  #" << i << "  " << t.name << "  " << jdc::to_string(t.kind) << "  structural hash " << hex(t.structural_hash)
            << (t.domain_position != jdc::arena::kNoDomain
                    ? "  parameter " + std::to_string(t.domain_position) + " domain rank " + std::to_string(t.domain_rank)
                    : t.id_hint != jdc::kInvalidType ? "  writer id " + std::to_string(t.id_hint) : std::string("  in no parameter domain"))
            << "\n";
    }
    out << "entries:\n";
    for (std::uint32_t i = 0; i < v.entry_count(); ++i) {
        const jdc::EntryView e = v.entry(i);
        out << "  #" << i << "  " << e.module() << "." << e.name() << "(";
        for (std::uint32_t p = 0; p < v.arity(); ++p) out << (p ? ", " : "") << type_ref(v, e.parameter(p));
        out << ") -> " << type_ref(v, e.return_type()) << "  id " << e.function_id() << "  at " << e.source_file() << ":"
            << e.line() << ":" << e.column() << "  effects " << effects_text(e.effects()) << "  specificity "
            << e.specificity_rank() << "  calls " << e.call_frequency() << "\n";
    }
}

// The same as print_arena, for programs: hashes and checksums as 16 hex digits.
json arena_json(const jdc::ArenaView& v) {
    const auto& h = v.header();
    auto type_or_null = [&](std::uint32_t local) { return local == jdc::arena::kNoLocalType ? json(nullptr) : json(v.type(local).name); };
    json parameters = json::array();
    for (std::uint32_t p = 0; p < v.arity(); ++p) parameters.push_back(type_or_null(v.declared_parameter(p)));
    json sections = json::array();
    for (std::uint32_t i = 0; i < h.section_count; ++i) {
        jdc::arena::SectionEntry e;
        std::memcpy(&e, v.bytes().data() + h.section_dir_offset + i * sizeof e, sizeof e);
        sections.push_back({{"kind", section_name(e.kind)}, {"offset", e.offset}, {"size", e.size},
                            {"required", (e.flags & jdc::arena::kSectionRequired) != 0}});
    }
    json types = json::array();
    for (std::uint32_t i = 0; i < v.type_count(); ++i) {
        const jdc::LocalType t = v.type(i);
        json jt = {{"name", t.name}, {"kind", jdc::to_string(t.kind)}, {"structural_hash", jdc::detail::hex64(t.structural_hash)}};
        if (t.domain_position != jdc::arena::kNoDomain) {
            jt["domain_position"] = t.domain_position;
            jt["domain_rank"] = t.domain_rank;
        }
        types.push_back(std::move(jt));
    }
    json entries = json::array();
    for (std::uint32_t i = 0; i < v.entry_count(); ++i) {
        const jdc::EntryView e = v.entry(i);
        json params = json::array();
        for (std::uint32_t p = 0; p < v.arity(); ++p) params.push_back(type_or_null(e.parameter(p)));
        entries.push_back({{"module", e.module()},
                           {"name", e.name()},
                           {"parameters", params},
                           {"return_type", type_or_null(e.return_type())},
                           {"function_id", e.function_id()},
                           {"source_file", e.source_file()},
                           {"line", e.line()},
                           {"column", e.column()},
                           {"effects", effects_text(e.effects())},
                           {"specificity_rank", e.specificity_rank()},
                           {"call_frequency", e.call_frequency()}});
    }
    return {{"format", std::to_string(v.version_major()) + "." + std::to_string(v.version_minor())},
            {"size_bytes", h.total_size},
            {"table_hash", jdc::detail::hex64(h.table_hash)},
            {"arena_key", v.key().is_zero() ? json(nullptr) : json(v.key().to_hex())},
            {"created_ns", h.created_at_ns},
            {"signature", {{"name", v.signature_name()}, {"parameters", parameters}, {"return_type", type_or_null(v.declared_return_type())}}},
            {"arity", v.arity()},
            {"optimization", jdc::to_string(v.optimization_type())},
            {"compression_ratio", v.compression_ratio()},
            {"memory_saved_bytes", v.memory_saved()},
            {"form", v.has_dispatch_index() ? "compressed_table" : "scan"},
            {"data_checksum", jdc::detail::hex64(h.data_checksum)},
            {"metadata_checksum", jdc::detail::hex64(h.metadata_checksum)},
            {"sections", sections},
            {"types", types},
            {"entries", entries}};
}

// Reads a file for inspection: exit code 2 on I/O problems, 1 on invalid arenas.
int load_for_report(const std::string& path, std::vector<std::byte>& bytes) {
    auto r = jdc::read_file_bytes(path, jdc::VerifyLimits{}.max_total_size);
    if (!r) {
        std::cerr << "jdc: " << r.error().message << "\n";
        return r.error().code == jdc::ErrorCode::limit_exceeded ? kExitInvalid : kExitUsage;
    }
    bytes = std::move(*r);
    return kExitOk;
}

// A compressed arena (compressed-arena-v1.md) is reported on as the arena it holds.
// Returns the codec it was stored with, or the error that rejected it.
jdc::Result<jdc::PayloadCodec> decode_for_report(std::vector<std::byte>& bytes) {
    const jdc::PayloadCodec codec = jdc::payload_codec_of(bytes);
    if (codec == jdc::PayloadCodec::none) return codec;
    auto raw = jdc::decompress_arena(bytes);
    if (!raw) return tl::unexpected(raw.error());
    bytes = std::move(*raw);
    return codec;
}

std::string stored_as(jdc::PayloadCodec codec, std::uint64_t stored_size, std::uint64_t raw_size) {
    if (codec == jdc::PayloadCodec::none) return "";
    return " (stored " + std::string(jdc::to_string(codec)) + "-compressed: " + std::to_string(stored_size) + " of " +
           std::to_string(raw_size) + " bytes)";
}

int cmd_verify(const std::vector<std::string>& files, bool quiet, bool as_json) {
    int worst = kExitOk;
    json results = json::array();
    for (const std::string& path : files) {
        std::vector<std::byte> bytes;
        if (int rc = load_for_report(path, bytes); rc != kExitOk) {
            worst = std::max(worst, rc);
            results.push_back({{"file", path}, {"valid", false}, {"error", rc == kExitInvalid ? "limit_exceeded" : "io"}});
            continue;
        }
        const std::uint64_t stored_size = bytes.size();
        auto codec = decode_for_report(bytes);
        auto ok = codec ? jdc::verify_arena(bytes, jdc::VerifyLevel::full) : jdc::Result<void>(tl::unexpected(codec.error()));
        if (!ok) {
            worst = std::max(worst, kExitInvalid);
            if (as_json) {
                results.push_back({{"file", path}, {"valid", false}, {"error", jdc::to_string(ok.error().code)}, {"message", ok.error().message}});
                continue;
            }
            std::cout << path << ": INVALID (" << jdc::to_string(ok.error().code) << "): " << ok.error().message << "\n";
        } else if (as_json) {
            results.push_back({{"file", path}, {"valid", true}, {"codec", jdc::to_string(*codec)}, {"stored_bytes", stored_size},
                               {"arena_bytes", bytes.size()}});
        } else if (!quiet) {
            std::cout << path << ": ok" << stored_as(*codec, stored_size, bytes.size()) << "\n";
        }
    }
    if (as_json) jdc::tools::print_json(jdc::tools::json_document({{"files", results}}));
    return worst;
}

// A FILE that exists is inspected as a file; otherwise a 32-hex-digit KEY is looked up
// in the cache directory.
int cmd_inspect(const std::string& path, const std::string& dir_option, bool as_json) {
    std::error_code ec;
    const auto key = jdc::CacheKey::from_hex(path);
    if (key && !std::filesystem::exists(path, ec)) return jdc::tools::inspect_cache_key(dir_option, *key, print_arena, arena_json, as_json);
    std::vector<std::byte> bytes;
    if (int rc = load_for_report(path, bytes); rc != kExitOk) return rc;
    const std::uint64_t stored_size = bytes.size();
    auto codec = decode_for_report(bytes);
    auto view = codec ? jdc::ArenaView::open(bytes) : jdc::Result<jdc::ArenaView>(tl::unexpected(codec.error()));
    if (!view) {
        std::cout << path << ": INVALID (" << jdc::to_string(view.error().code) << "): " << view.error().message << "\n";
        return kExitInvalid;
    }
    if (as_json) {
        json body = arena_json(*view);
        body["file"] = path;
        body["stored_bytes"] = stored_size;
        body["codec"] = jdc::to_string(*codec);
        jdc::tools::print_json(jdc::tools::json_document(std::move(body)));
        return kExitOk;
    }
    std::cout << "file:          " << path << stored_as(*codec, stored_size, bytes.size()) << "\n";
    print_arena(*view, std::cout);
    return kExitOk;
}

// OUT of compress, decompress and sample. A file is written by rename
// (write_file_atomically), which replaces whatever the name points at: a device node,
// FIFO or symlink given as OUT would become a regular file (as root, /dev/full was
// replaced). So OUT must be a regular file or not exist; "-" is standard output.
// Returns the reason to refuse, or an empty string.
std::string unusable_output(const std::string& out) {
    if (out == "-") return {};
    struct stat st {};
    if (::lstat(out.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return "cannot use '" + out + "' as the output: " + std::strerror(errno);
    }
    if (S_ISREG(st.st_mode)) return {};
    const std::string kind = S_ISLNK(st.st_mode)    ? "symbolic link"
                             : S_ISDIR(st.st_mode)  ? "directory"
                             : S_ISCHR(st.st_mode)  ? "character device"
                             : S_ISBLK(st.st_mode)  ? "block device"
                             : S_ISFIFO(st.st_mode) ? "FIFO"
                             : S_ISSOCK(st.st_mode) ? "socket"
                                                    : "special file";
    const std::string effect = S_ISLNK(st.st_mode) ? "the link itself rather than write through it" : "the " + kind + " with a regular file";
    return "refusing to write '" + out + "': it is a " + kind + ", not a regular file; jdc writes a new file and renames it over OUT, " +
           "which would replace " + effect + ". Give a regular file, a new path, or '-' for standard output";
}

// Writes `bytes` to OUT (checked with unusable_output): standard output for "-", else
// atomically. Returns an exit code, having said why on failure.
int write_output(const std::string& out, std::span<const std::byte> bytes) {
    if (out == "-") {
        if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0) {
            std::cerr << "jdc: cannot write to standard output: " << std::strerror(errno) << "\n";
            return kExitUsage;
        }
        return kExitOk;
    }
    if (auto w = jdc::write_file_atomically(out, bytes); !w) {
        std::cerr << "jdc: " << w.error().message << "\n";
        return kExitUsage;
    }
    return kExitOk;
}

// Writes IN's arena to OUT compressed with `codec` (none: decompressed), atomically.
// --json prints one JSON document on standard output, which then cannot also carry an
// arena.
int json_needs_a_file(const char* command) {
    std::cerr << "jdc: " << command << " --json needs an output file: with '-', standard output carries the arena\n";
    return kExitUsage;
}

int cmd_convert(const std::string& in, const std::string& out, jdc::PayloadCodec codec, int level, bool as_json) {
    const char* command = codec == jdc::PayloadCodec::none ? "decompress" : "compress";
    if (as_json && out == "-") return json_needs_a_file(command);
    if (const std::string refusal = unusable_output(out); !refusal.empty()) {
        std::cerr << "jdc: " << refusal << "\n";
        return kExitUsage;
    }
    std::vector<std::byte> bytes;
    if (int rc = load_for_report(in, bytes); rc != kExitOk) return rc;
    const std::uint64_t in_size = bytes.size();
    auto raw = decode_for_report(bytes);
    auto ok = raw ? jdc::verify_arena(bytes, jdc::VerifyLevel::full) : jdc::Result<void>(tl::unexpected(raw.error()));
    if (!ok) {
        if (as_json)
            jdc::tools::print_json(jdc::tools::json_document(
                {{"input", in}, {"valid", false}, {"error", jdc::to_string(ok.error().code)}, {"message", ok.error().message}}));
        else
            std::cout << in << ": INVALID (" << jdc::to_string(ok.error().code) << "): " << ok.error().message << "\n";
        return kExitInvalid;
    }
    std::vector<std::byte> result;
    if (codec == jdc::PayloadCodec::none) {
        result = std::move(bytes);
    } else {
        auto packed = jdc::compress_arena(bytes, codec, level);
        if (!packed) {
            std::cerr << "jdc: " << packed.error().message << "\n";
            return kExitUsage;
        }
        result = std::move(*packed);
    }
    if (int rc = write_output(out, result); rc != kExitOk) return rc;
    if (as_json) {
        jdc::tools::print_json(jdc::tools::json_document({{"input", in},
                                                          {"valid", true},
                                                          {"input_bytes", in_size},
                                                          {"input_codec", jdc::to_string(*raw)},
                                                          {"output", out},
                                                          {"output_bytes", result.size()},
                                                          {"output_codec", jdc::to_string(codec)}}));
        return kExitOk;
    }
    // With "-" standard output carries the arena: the summary goes to stderr.
    (out == "-" ? std::cerr : std::cout) << out << ": " << result.size() << " bytes (" << jdc::to_string(codec) << ") from "
                                         << in_size << " bytes (" << jdc::to_string(*raw) << ")\n";
    return kExitOk;
}

// The sample: a small hierarchy with multiple inheritance and a binary generic
// function, written as an arena, loaded back from disk, bound and queried for every
// pair of argument types; each answer is checked against the reference resolver.
int cmd_sample(const std::string& path, bool quiet, bool as_json) {
    if (as_json && path == "-") return json_needs_a_file("sample");
    if (const std::string refusal = unusable_output(path); !refusal.empty()) {
        std::cerr << "jdc: " << refusal << "\n";
        return kExitUsage;
    }
    // With "-" standard output carries the arena, the report goes to stderr, and the
    // arena is loaded back from the bytes written rather than from a file.
    const bool to_stdout = path == "-";
    std::ostringstream discarded;  // with --json, the text report is not printed
    std::ostream& report = as_json ? discarded : to_stdout ? std::cerr : std::cout;
    json lookups = json::array();
    jdc::TypeRegistry reg;
    auto add = [&](const char* name, std::initializer_list<jdc::TypeId> supers) {
        return *reg.add(name, jdc::TypeKind::struct_, std::vector<jdc::TypeId>(supers));
    };
    const jdc::TypeId object = add("Object", {});
    const jdc::TypeId shape = add("Shape", {object});
    const jdc::TypeId drawable = add("Drawable", {object});
    const jdc::TypeId circle = add("Circle", {shape});
    const jdc::TypeId square = add("Square", {shape});
    const jdc::TypeId sprite = add("Sprite", {shape, drawable});

    jdc::DispatchTable table;
    table.signature_name = "collide";
    table.signature = {{object, object}, jdc::kTypeBool};
    auto method = [&](std::uint32_t id, jdc::TypeId a, jdc::TypeId b, std::uint32_t line, std::uint32_t effects) {
        jdc::Implementation impl;
        impl.function = {"collide", "geometry", id};
        impl.parameter_types = {a, b};
        impl.return_type = jdc::kTypeBool;
        impl.effects = effects;
        impl.location = {"geometry.jn", line, 1};
        impl.specificity_rank = jdc::specificity_rank(impl, reg);
        table.implementations.push_back(impl);
    };
    method(1, object, object, 10, 0);
    method(2, shape, shape, 14, 1);
    method(3, circle, circle, 18, 1);
    method(4, circle, shape, 22, 1);
    method(5, drawable, shape, 26, 3);

    auto bytes = jdc::build_arena(table, reg);
    if (!bytes) {
        std::cerr << "jdc: " << bytes.error().message << "\n";
        return kExitInvalid;
    }
    if (int rc = write_output(path, *bytes); rc != kExitOk) return rc;
    std::optional<jdc::LoadedArena> loaded;
    const jdc::Result<jdc::ArenaView> view = [&]() -> jdc::Result<jdc::ArenaView> {
        if (to_stdout) return jdc::ArenaView::open(*bytes);
        auto opened = jdc::LoadedArena::open(path);
        if (!opened) return tl::unexpected(opened.error());
        loaded.emplace(std::move(*opened));
        return loaded->view();
    }();
    if (!view) {
        std::cerr << "jdc: " << view.error().message << "\n";
        return kExitInvalid;
    }
    auto bound = jdc::BoundArena::bind(*view, reg);
    if (!bound) {
        std::cerr << "jdc: " << bound.error().message << "\n";
        return kExitInvalid;
    }
    if (to_stdout)
        report << "wrote the arena to standard output (" << bytes->size() << " bytes), verified and bound it\n\n";
    else
        report << "wrote " << path << " (" << bytes->size() << " bytes), loaded it back (" << (loaded->is_mapped() ? "mmap" : "read")
               << "), verified and bound it\n\n";
    if (!quiet) {
        print_arena(*view, report);
        report << "\n";
    }
    report << "lookups from the " << (to_stdout ? "written" : "loaded") << " arena, each checked against the reference resolver:\n";
    const jdc::TypeId probes[] = {object, shape, drawable, circle, square, sprite, jdc::kTypeI32};
    int disagreements = 0, count = 0;
    for (jdc::TypeId a : probes)
        for (jdc::TypeId b : probes) {
            const jdc::TypeId args[] = {a, b};
            const jdc::Resolution got = bound->lookup(args);
            const jdc::Resolution want = jdc::resolve_reference(table, reg, args);
            const bool agree = got.same_outcome(want);
            disagreements += agree ? 0 : 1;
            ++count;
            json outcome = {{"arguments", {reg.find(a)->name, reg.find(b)->name}}, {"agrees_with_reference", agree}};
            if (got.kind == jdc::ResolutionKind::method) {
                outcome["result"] = "method";
                outcome["method"] = got.index;
            } else if (got.kind == jdc::ResolutionKind::ambiguous) {
                outcome["result"] = "ambiguous";
                outcome["methods"] = {got.index, got.other};
            } else {
                outcome["result"] = "no_method";
            }
            lookups.push_back(std::move(outcome));
            std::string answer;
            if (got.kind == jdc::ResolutionKind::method) {
                const auto e = view->entry(got.index);
                answer = "method #" + std::to_string(got.index) + " collide(" + type_ref(*view, e.parameter(0)) + ", " +
                         type_ref(*view, e.parameter(1)) + ")";
            } else if (got.kind == jdc::ResolutionKind::ambiguous) {
                answer = "ambiguous between #" + std::to_string(got.index) + " and #" + std::to_string(got.other);
            } else {
                answer = "no method";
            }
            char line[160];
            std::snprintf(line, sizeof line, "  collide(%-8s, %-8s) -> %-44s %s\n", reg.find(a)->name.c_str(),
                          reg.find(b)->name.c_str(), answer.c_str(), agree ? "ok" : "DISAGREES");
            report << line;
        }
    report << "\n" << count - disagreements << " of " << count << " lookups agree with the reference resolver\n";
    if (as_json)
        jdc::tools::print_json(jdc::tools::json_document({{"file", path},
                                                          {"bytes", bytes->size()},
                                                          {"loaded", loaded && loaded->is_mapped() ? "mmap" : "read"},
                                                          {"lookups", count},
                                                          {"agreeing", count - disagreements},
                                                          {"results", std::move(lookups)}}));
    return disagreements == 0 ? kExitOk : kExitInvalid;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"jdc: the Janus dispatch cache tool (exit 0 ok, 1 a problem found, 2 usage or I/O error)", "jdc"};
    app.set_version_flag("--version", jdc::tools::version_line("jdc"));
    app.require_subcommand(1);

    auto* verify = app.add_subcommand("verify", "Fully verify arena files (exit 0 valid, 1 invalid, 2 usage/I/O error)");
    std::vector<std::string> verify_files;
    bool verify_quiet = false, verify_json = false;
    verify->add_option("files", verify_files, "Arena files")->required();
    verify->add_flag("-q,--quiet", verify_quiet, "Print only invalid files");
    verify->add_flag("--json", verify_json, "Print one JSON document with every file's result");

    auto* inspect = app.add_subcommand("inspect", "Print an arena's header, sections, types and entries (a file, or a cache entry by key)");
    std::string inspect_file, inspect_dir;
    bool inspect_json = false;
    inspect->add_option("target", inspect_file, "Arena file, or cache key (32 hex digits) looked up in --dir")->required();
    inspect->add_option("--dir", inspect_dir,
                        "Cache directory for a key (default: JANUS_CACHE_DIR, else the nearest .janus_cache/ from the working directory up)");
    inspect->add_flag("--json", inspect_json, "Print the arena as one JSON document");

    auto* compress = app.add_subcommand("compress", "Write an arena compressed with LZ4 or zstd (format-spec/compressed-arena-v1.md)");
    std::string compress_in, compress_out, compress_codec = "lz4";
    int compress_level = 0;
    compress->add_option("input", compress_in, "Arena file (raw or compressed)")->required();
    compress->add_option("output", compress_out, "Where to write the compressed arena: a regular file or a new path, or - for stdout")->required();
    compress->add_option("--codec", compress_codec, "lz4 or zstd")->capture_default_str()->check(CLI::IsMember({"lz4", "zstd"}));
    compress->add_option("--level", compress_level, "Codec level (0: default; lz4 2-12 is LZ4HC; zstd up to 22)")->capture_default_str();

    auto* decompress = app.add_subcommand("decompress", "Write the raw arena a compressed arena holds");
    std::string decompress_in, decompress_out;
    decompress->add_option("input", decompress_in, "Compressed (or raw) arena file")->required();
    decompress->add_option("output", decompress_out, "Where to write the raw arena: a regular file or a new path, or - for stdout")->required();
    bool compress_json = false, decompress_json = false;
    compress->add_flag("--json", compress_json, "Print one JSON document (sizes and codecs) instead of text");
    decompress->add_flag("--json", decompress_json, "Print one JSON document (sizes and codecs) instead of text");

    jdc::tools::CacheCommands cache_commands(app);

    auto* sample = app.add_subcommand("sample", "Write a sample arena, load it back and check every lookup");
    std::string sample_file;
    bool sample_quiet = false;
    sample->add_option("file", sample_file, "Where to write the sample arena: a regular file or a new path, or - for stdout (the report then goes to stderr)")->required();
    sample->add_flag("-q,--quiet", sample_quiet, "Do not dump the arena");
    bool sample_json = false;
    sample->add_flag("--json", sample_json, "Print one JSON document (every lookup and whether it agrees) instead of text");

    auto* demo = app.add_subcommand("demo-build",
                                    "Build a synthetic program twice through the cache (cold, then warm) and print both build reports");
    jdc::tools::DemoOptions demo_options;
    demo->add_option("--dir", demo_options.cache_dir, "Cache directory")->capture_default_str();
    demo->add_option("--functions", demo_options.functions, "Generic functions")->capture_default_str()->check(CLI::Range(1u, 1000000u));
    demo->add_option("--types", demo_options.types, "Types in the hierarchy")->capture_default_str()->check(CLI::Range(2u, 100000u));
    demo->add_option("--seed", demo_options.seed, "Generator seed")->capture_default_str();
    demo->add_flag("--json", demo_options.json, "Print one JSON document (both build reports) instead of text");

    if (auto rc = jdc::tools::parse_command_line(app, argc, argv)) return *rc;
    if (*verify) return cmd_verify(verify_files, verify_quiet, verify_json);
    if (*inspect) return cmd_inspect(inspect_file, inspect_dir, inspect_json);
    if (*compress)
        return cmd_convert(compress_in, compress_out, compress_codec == "zstd" ? jdc::PayloadCodec::zstd : jdc::PayloadCodec::lz4,
                           compress_level, compress_json);
    if (*decompress) return cmd_convert(decompress_in, decompress_out, jdc::PayloadCodec::none, 0, decompress_json);
    if (auto rc = cache_commands.run()) return *rc;
    if (*sample) return cmd_sample(sample_file, sample_quiet, sample_json);
    if (*demo) return jdc::tools::run_demo_build(demo_options);
    return kExitUsage;
}
