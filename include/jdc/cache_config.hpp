// jdc — cache configuration, with the seed's fields, defaults and environment variables.
//
// Cache layer. Defaults are the seed's: `.janus_cache/dispatch_tables`, 100 MB, one
// week, compression on, daily cleanup. (The seed's `enable_incremental_updates` is
// gone: every update is incremental by construction, each table under its own key,
// and a session writes only the tables it built; the only other mode, rebuilding
// everything, is JANUS_CACHE_DISABLE.) Environment variables override them
// (CacheConfig::from_environment):
//   JANUS_CACHE_DIR      cache directory (non-empty path)
//   JANUS_CACHE_SIZE     maximum size of the cache directory on disk, everything in it
//                        counted (entries, index, inputs log, stats, dependency state,
//                        read history): bytes, or with a K/M/G/T suffix (powers of
//                        1024; "KB", "KiB" and lower case accepted), e.g. 512M
//   JANUS_CACHE_DISABLE  1/true/yes/on: caching off (every lookup a miss, nothing
//                        written); 0/false/no/off or empty: on
//   JANUS_CACHE_VERBOSE  1/true/yes/on: one line per cache event on stderr
//   JANUS_CACHE_WRITE_THROUGH  1/true/yes/on: each built table is written at once, as a
//                        loose file other processes see immediately; default off: the
//                        session's tables are written behind, as one pack, when there
//                        are 4096 of them, at endBuildSession() or when the manager is
//                        destroyed (a file per table costs more than building it)
//   JANUS_CACHE_COMPRESSION  auto (default), lz4, zstd or none: the payload codec of
//                        large arenas (payload_codec.hpp): auto stores LZ4 from 64 KiB
//                        and sends zstd to the remote from 4 KiB; lz4 or zstd use that
//                        codec for both; none stores and sends everything raw.
//                        enable_compression = false also turns it off.
// The remote tier (a team cache on Redis, shared by many machines; see remote_store.hpp
// and format-spec/remote-cache-v1.md) is off unless JANUS_CACHE_REMOTE names a server:
//   JANUS_CACHE_REMOTE                     redis://[[user]:password@]host[:port][/db] or
//                                          redis+unix://[[user]:password@]/path/to/socket[?db=N];
//                                          empty: no remote tier
//   JANUS_CACHE_REMOTE_READ_ONLY           1/true/yes/on: fetch from the remote, never write to it
//                                          (developer machines; CI writes)
//   JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS  connect timeout, 1-600000 ms (default 200)
//   JANUS_CACHE_REMOTE_TIMEOUT_MS          operation timeout, 1-600000 ms: the longest wait for
//                                          the server in any one socket read or write (default 500)
//   JANUS_CACHE_REMOTE_TTL                 expiry of written entries: seconds, or with an s/m/h/d
//                                          suffix (e.g. 14d), at most 9000000000000000 s (what
//                                          Redis accepts); 0: none, Redis evicts (default)
//   JANUS_CACHE_REMOTE_MAX_SIZE            largest value fetched or written, as JANUS_CACHE_SIZE,
//                                          1 byte to 512M (default 64M)
// A remote that fails or times out is switched off for the rest of the build session;
// the build goes on with the local cache (see build_cache_manager.hpp).
// Disk limit, eviction, compaction and loading:
//   JANUS_CACHE_MAX_AGE  entries not read for this long are evicted: seconds, or with an
//                        s/m/h/d suffix (default 7d); 0: no age eviction
//   JANUS_CACHE_READER_GRACE  entries read this recently are evicted for size only when
//                        the directory is over its limit even without them (default
//                        60s; same syntax): a reader that has just found an entry in the
//                        index is about to open it
//   JANUS_CACHE_COMPACT_THRESHOLD  small loose entries and packs at which a build
//                        session's end starts the compactor in the background (a decimal
//                        count, default 8; 0 = never, whatever else is due). It also
//                        starts when dead bytes (evicted or superseded copies) make up
//                        over a quarter of the packs, or the directory is over its limit.
//   JANUS_CACHE_COMPACTOR  the jdc-compactor executable (non-empty path)
//   JANUS_CACHE_LOAD_MODE  auto (default: read() loose arenas up to 256 KiB, map larger
//                        ones and packs), read (read() every loose arena: on network
//                        filesystems, where another machine may truncate a mapped file
//                        and the reader would get SIGBUS; packs are still mapped) or map
//   JANUS_CACHE_PREFETCH  1 (default): a session starts by asking the kernel to read
//                        ahead the tables the last sessions read (read history); 0: not
// A value that does not parse is an error naming the variable and the value; it is
// never ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "jdc/error.hpp"
#include "jdc/local_store.hpp"
#include "jdc/payload_codec.hpp"

namespace jdc {

struct CacheConfig {
    std::filesystem::path cache_directory = ".janus_cache/dispatch_tables";
    std::uint64_t max_cache_size_bytes = 100ull * 1024 * 1024;
    std::uint64_t max_cache_age_seconds = 7ull * 24 * 60 * 60;
    // The seed's switch for both optimizations of stored tables: the dispatch forms
    // (compressed table) inside arenas and the payload codec of large arenas.
    bool enable_compression = true;
    CodecChoice compression_codec = CodecChoice::automatic;  // JANUS_CACHE_COMPRESSION
    bool write_through = false;                               // JANUS_CACHE_WRITE_THROUGH
    std::size_t write_behind_tables = 4096;                   // queued tables that trigger a write (at least 1)
    std::uint64_t cache_cleanup_interval_seconds = 24ull * 60 * 60;
    bool enabled = true;   // JANUS_CACHE_DISABLE clears it
    std::string disabled_by;  // who turned caching off, for the build report ("JANUS_CACHE_DISABLE", "--no-cache")
    bool verbose = false;  // JANUS_CACHE_VERBOSE
    // The remote tier; off when remote_url is empty. The defaults are RemoteOptions'.
    std::string remote_url;                           // JANUS_CACHE_REMOTE
    bool remote_read_only = false;                    // JANUS_CACHE_REMOTE_READ_ONLY
    std::uint32_t remote_connect_timeout_ms = 200;    // JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS
    std::uint32_t remote_timeout_ms = 500;            // JANUS_CACHE_REMOTE_TIMEOUT_MS
    std::uint64_t remote_ttl_seconds = 0;             // JANUS_CACHE_REMOTE_TTL
    std::uint64_t remote_max_value_bytes = 64ull * 1024 * 1024;  // JANUS_CACHE_REMOTE_MAX_SIZE
    // When a build session ends with at least this many small loose entries and packs
    // (or dead bytes over a quarter of the packs, or the directory over its limit), the
    // manager starts jdc-compactor in the background, at low priority, at most one per
    // cache (compactor_launch.hpp). 0: never.
    std::uint64_t compact_threshold = 8;  // JANUS_CACHE_COMPACT_THRESHOLD
    // The compactor executable; empty: jdc-compactor next to this program, else on PATH.
    std::filesystem::path compactor_path;  // JANUS_CACHE_COMPACTOR

    // Disk limit, eviction and loading (max_cache_size_bytes and max_cache_age_seconds
    // above are the seed's; JANUS_CACHE_SIZE, JANUS_CACHE_MAX_AGE).
    std::uint64_t reader_grace_seconds = 60;  // JANUS_CACHE_READER_GRACE
    LoadMode load_mode = LoadMode::automatic;  // JANUS_CACHE_LOAD_MODE
    bool prefetch = true;                      // JANUS_CACHE_PREFETCH

    static CacheConfig defaults() { return {}; }

    // The payload compression of local cache files and of values sent to the remote.
    CompressionPolicy storage_compression() const;
    CompressionPolicy transfer_compression() const;
    // The local store's options: size, age, grace, cleanup interval, load mode and compression.
    StoreOptions store_options() const;

    // Defaults overridden by the JANUS_CACHE_* variables of this process.
    static Result<CacheConfig> from_environment();
    // Same, reading variables through `getenv` (tests pass a map).
    using Getenv = std::function<std::optional<std::string>(std::string_view name)>;
    static Result<CacheConfig> from_environment(const Getenv& getenv);
    static Result<CacheConfig> from_environment(const Getenv& getenv, CacheConfig base);
};

// "100", "64K", "512M", "2G", "1TiB" -> bytes. nullopt when malformed or overflowing.
std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept;
// "0", "42", " 7 " -> the count; nullopt for anything else (signs, suffixes, overflow).
std::optional<std::uint64_t> parse_count(std::string_view text) noexcept;
// "1", "true", "yes", "on" -> true; "0", "false", "no", "off", "" -> false; else nullopt.
std::optional<bool> parse_flag(std::string_view text) noexcept;
// "90", "90s", "15m", "12h", "14d" -> seconds. nullopt when malformed or overflowing.
std::optional<std::uint64_t> parse_duration_seconds(std::string_view text) noexcept;
// "auto", "read", "map" (any case) -> the LoadMode; nullopt for anything else.
std::optional<LoadMode> parse_load_mode(std::string_view text) noexcept;

}  // namespace jdc
