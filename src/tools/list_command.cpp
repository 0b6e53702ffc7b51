#include "tools/list_command.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "tools/tool_support.hpp"
#include "util/clock.hpp"
#include "util/progress_bar.hpp"
#include "util/report_format.hpp"

namespace jdc::tools {
using json = nlohmann::json;

namespace {

struct Listed {
    IndexEntry entry;
    std::string name;            // the arena's signature name; empty when unreadable
    std::uint32_t methods = 0;
    bool compressed_table = false;  // the arena carries the compressed dispatch table
    bool compressed_payload = false;
    std::string error;              // why the arena could not be read
};

std::string form_name(const Listed& l) { return l.compressed_table ? "compressed_table" : "scan"; }

}  // namespace

int run_ls(const std::string& dir_option, const std::string& sort, bool as_json) {
    auto config = tool_config(dir_option);
    if (!config) {
        std::cerr << "jdc: " << config.error().message << "\n";
        return kExitUsage;
    }
    auto store = open_cache_for_tool(*config);
    if (!store) {
        std::cerr << "jdc: " << store.error().message << "\n";
        return kExitUsage;
    }
    std::vector<Listed> rows;
    {
        const std::vector<IndexEntry> entries = store->entries();
        detail::ProgressBar bar("ls");
        for (const IndexEntry& e : entries) {
            Listed l;
            l.entry = e;
            // Inspect: reading for a listing is not a use (no access recorded, nothing dropped).
            if (auto got = store->get(e.key, AccessMode::inspect)) {
                const ArenaView& v = got->view();
                l.name = std::string(v.signature_name());
                l.methods = v.entry_count();
                l.compressed_table = v.has_dispatch_index();
                l.compressed_payload = e.location == EntryLocation::loose && v.bytes().size() != e.size;
            } else {
                l.error = std::string(to_string(got.error().code)) + ": " + got.error().message;
            }
            rows.push_back(std::move(l));
            bar.update(rows.size(), entries.size());
        }
    }
    std::sort(rows.begin(), rows.end(), [&](const Listed& a, const Listed& b) {
        if (sort == "size") return a.entry.size != b.entry.size ? a.entry.size > b.entry.size : a.name < b.name;
        if (sort == "age") return a.entry.created_ns != b.entry.created_ns ? a.entry.created_ns > b.entry.created_ns : a.name < b.name;
        if (sort == "read")
            return a.entry.last_access_ns != b.entry.last_access_ns ? a.entry.last_access_ns > b.entry.last_access_ns : a.name < b.name;
        return a.name != b.name ? a.name < b.name : a.entry.key.to_hex() < b.entry.key.to_hex();
    });
    const bool all_readable = std::all_of(rows.begin(), rows.end(), [](const Listed& l) { return l.error.empty(); });
    if (as_json) {
        json list = json::array();
        for (const Listed& l : rows) {
            json j = {{"key", l.entry.key.to_hex()},
                      {"size_bytes", l.entry.size},
                      {"created_ns", l.entry.created_ns},
                      {"last_access_ns", l.entry.last_access_ns},
                      {"access_count", l.entry.access_count},
                      {"origin", l.entry.location == EntryLocation::loose ? "loose" : "pack"}};
            if (l.error.empty()) {
                j["name"] = l.name;
                j["methods"] = l.methods;
                j["form"] = form_name(l);
                j["payload"] = l.compressed_payload ? "compressed" : "raw";
            } else {
                j["error"] = l.error;
            }
            list.push_back(std::move(j));
        }
        print_json(json_document({{"cache_directory", config->cache_directory.string()}, {"entries", list}}));
        return all_readable ? kExitOk : kExitInvalid;
    }
    std::size_t width = 4;
    for (const Listed& l : rows) width = std::max(width, std::min<std::size_t>(l.name.size(), 48));
    const std::uint64_t now = detail::wall_clock_ns();
    char line[512];
    std::snprintf(line, sizeof line, "%-*s  %7s  %10s  %5s  %9s  %-16s  %-6s  %s\n", static_cast<int>(width), "name", "methods", "size", "age",
                  "last read", "form", "origin", "key");
    std::cout << line;
    for (const Listed& l : rows) {
        if (!l.error.empty()) {
            std::cout << l.entry.key.to_hex() << ": INVALID (" << l.error << ")\n";
            continue;
        }
        const std::string form = l.compressed_table ? "compressed table" : "scan";
        const std::string origin = l.entry.location == EntryLocation::loose ? (l.compressed_payload ? "loose*" : "loose") : "pack";
        std::snprintf(line, sizeof line, "%-*s  %7u  %10s  %5s  %9s  %-16s  %-6s  %s\n", static_cast<int>(width), l.name.c_str(), l.methods,
                      format_bytes(l.entry.size).c_str(), age_text(l.entry.created_ns, now).c_str(),
                      age_text(l.entry.last_access_ns, now).c_str(), form.c_str(), origin.c_str(), l.entry.key.to_hex().c_str());
        std::cout << line;
    }
    std::uint64_t bytes = 0;
    for (const Listed& l : rows) bytes += l.entry.size;
    std::cout << rows.size() << (rows.size() == 1 ? " entry, " : " entries, ") << format_bytes(bytes)
              << (std::any_of(rows.begin(), rows.end(), [](const Listed& l) { return l.compressed_payload; })
                      ? "; loose* = stored LZ4/zstd-compressed"
                      : "")
              << "\n";
    return all_readable ? kExitOk : kExitInvalid;
}

}  // namespace jdc::tools
