// jdc (internal) — the inputs log: what each table name was last stored with (for
// explain and the miss reasons of the build report), one JSON record per line in
// <cache>/inputs.jdcl. The records themselves are miss_record.hpp's.
//
// Cache layer, internal. A build session appends the records of its misses in one
// write when it flushes them to the store (a file per record cost more than building
// the table). Later lines win; a reader indexes the file by name once and parses only
// the records it is asked for. Line format: 16 hex digits (XXH3-64 of the table name),
// one space, the record as compact JSON (an object: it ends in '}'), "\n". A line that
// does not have this shape (a writer died mid-write, or its disk filled up) is skipped:
// the log is derived data, never a reason to fail a build. Such a torn last line has
// no newline; the next append writes one before its records, under the lock, so they
// are not glued to it. The file is opened like every cache file (regular_file.hpp): a
// FIFO or a link at inputs.jdcl is an empty log to readers and an error to writers. When the file holds more than twice as many lines as names and is
// over 1 MiB, a loader rewrites it with the latest line of each name, keeping only
// the domain records (miss_record.hpp) that a kept table record refers to. It counts
// against the cache's size limit like every file of the cache: trim() bounds it.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "jdc/error.hpp"

namespace jdc::detail {

class InputsLog {
public:
    static std::filesystem::path path_in(const std::filesystem::path& cache_directory) { return cache_directory / "inputs.jdcl"; }
    // The 16 hex digits that start the line of a record of `name`.
    static std::string name_hash(std::string_view name);

    // Appends whole lines (many records) under <cache>/inputs.lock, in as few writes
    // as the system allows; each piece is one or more whole lines. A session's
    // records are megabytes: they are written from where they are, not joined first.
    static Result<void> append(const std::filesystem::path& cache_directory, std::span<const std::string_view> pieces);
    static Result<void> append(const std::filesystem::path& cache_directory, std::string_view lines) {
        return append(cache_directory, std::span<const std::string_view>(&lines, 1));
    }

    // Reads the log (a missing file is an empty log), compacting it when due.
    static InputsLog load(const std::filesystem::path& cache_directory);
    // When the file is over `max_bytes`: rewrites it with the latest record of each
    // table whose key `live` accepts (32 hex digits: the entry is still in the cache),
    // then, while still over, without the oldest names; domain records go with the
    // last table record that refers to them. Under <cache>/inputs.lock, taken only if
    // free (true: rewritten; false: within bounds, or busy). Errors: io.
    static Result<bool> trim(const std::filesystem::path& cache_directory, std::uint64_t max_bytes,
                             const std::function<bool(std::string_view key_hex)>& live);

    // The latest record of `name`, parsed; nullopt when there is none or it is damaged.
    std::optional<nlohmann::json> find(std::string_view name) const;
    // The latest line of `name`'s hash as written (its JSON text, unparsed, not checked
    // to be `name`'s); empty when there is none. For checks that can do without parsing.
    std::string_view find_text(std::string_view name) const {
        const auto it = latest_.find(name_hash(name));
        return it == latest_.end() ? std::string_view{} : it->second;
    }
    // Whether the log holds a line of `name` (not parsed).
    bool contains(std::string_view name) const { return latest_.count(name_hash(name)) != 0; }
    // Every latest record, in file order (tools).
    std::vector<nlohmann::json> all() const;
    std::size_t size() const noexcept { return latest_.size(); }

private:
    static InputsLog parse(std::string text);

    std::string text_;                                          // the whole file
    std::size_t lines_ = 0;                                     // well-formed lines
    std::unordered_map<std::string, std::string_view> latest_;  // name hash -> JSON of its last line
    std::vector<std::string_view> order_;                       // name hashes by first appearance
};

}  // namespace jdc::detail
