// jdc — cache configuration, with the seed's fields, defaults and environment variables.
//
// Cache layer. Defaults are the seed's: `.janus_cache/dispatch_tables`, 100 MB, one
// week, compression on, incremental updates on, daily cleanup. Environment variables
// override them (CacheConfig::from_environment):
//   JANUS_CACHE_DIR      cache directory (non-empty path)
//   JANUS_CACHE_SIZE     maximum size: bytes, or with a K/M/G/T suffix (powers of 1024;
//                        "KB", "KiB" and lower case accepted), e.g. 512M
//   JANUS_CACHE_DISABLE  1/true/yes/on: caching off (every lookup a miss, nothing
//                        written); 0/false/no/off or empty: on
//   JANUS_CACHE_VERBOSE  1/true/yes/on: one line per cache event on stderr
//   JANUS_CACHE_ALLOW_SHARED  1/true/yes/on: no warning when the cache directory is owned by
//                        another user or writable by every user (a deliberately shared cache)
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
//   JANUS_CACHE_REMOTE_DEADLINE_MS         request deadline, 1-600000 ms: every request done from its
//                                          first byte sent to its last reply byte read (default 5000)
//   JANUS_CACHE_REMOTE_SESSION_BUDGET_MS   time budget of a session on the remote, 1-600000 ms, summed
//                                          over threads: once spent, the remote is switched off for
//                                          the rest of the session (default 120000)
//   JANUS_CACHE_REMOTE_SECRET              the team secret: every value written is sealed with a keyed
//                                          MAC, and only values sealed with it are used (readers
//                                          and writers must all have it; format-spec/remote-cache-v1.md
//                                          §3.3); empty or unset: none. Never printed.
//   JANUS_CACHE_REMOTE_TTL                 expiry of written entries: seconds, or with an s/m/h/d
//                                          suffix (e.g. 14d), at most 9000000000000000 s (what
//                                          Redis accepts); 0: none, Redis evicts (default)
//   JANUS_CACHE_REMOTE_MAX_SIZE            largest value fetched or written, as JANUS_CACHE_SIZE,
//                                          1 byte to 512M (default 64M)
// A remote that fails or times out is switched off for the rest of the build session;
// the build goes on with the local cache (see build_cache_manager.hpp).
//   JANUS_CACHE_COMPACT_THRESHOLD  files (loose entries and packs) at which a build session's end starts
//                        the compactor in the background (a decimal count; 0 = never)
//   JANUS_CACHE_COMPACTOR  the jdc-compactor executable (non-empty path)
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
    bool enable_incremental_updates = true;
    std::uint64_t cache_cleanup_interval_seconds = 24ull * 60 * 60;
    bool enabled = true;   // JANUS_CACHE_DISABLE clears it
    std::string disabled_by;  // who turned caching off, for the build report ("JANUS_CACHE_DISABLE", "--no-cache")
    bool verbose = false;  // JANUS_CACHE_VERBOSE
    // A cache directory another user owns or every user may write is used, but with a
    // warning (another user could plant tables there); true silences it.
    bool allow_shared = false;  // JANUS_CACHE_ALLOW_SHARED
    // The remote tier; off when remote_url is empty. The defaults are RemoteOptions'.
    std::string remote_url;                           // JANUS_CACHE_REMOTE
    bool remote_read_only = false;                    // JANUS_CACHE_REMOTE_READ_ONLY
    std::uint32_t remote_connect_timeout_ms = 200;    // JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS
    std::uint32_t remote_timeout_ms = 500;            // JANUS_CACHE_REMOTE_TIMEOUT_MS
    std::uint64_t remote_ttl_seconds = 0;             // JANUS_CACHE_REMOTE_TTL
    std::uint64_t remote_max_value_bytes = 64ull * 1024 * 1024;  // JANUS_CACHE_REMOTE_MAX_SIZE
    std::uint32_t remote_deadline_ms = 5000;          // JANUS_CACHE_REMOTE_DEADLINE_MS
    std::string remote_secret;                        // JANUS_CACHE_REMOTE_SECRET (RemoteOptions::secret)
    // Session budgets of the remote tier: once one is spent, the remote is switched off
    // for the rest of the session (one log line, counted as a remote error). Time spent
    // on remote requests (summed over threads), values rejected (each may have cost a
    // download and a decode up to the size cap), bytes decompressed from fetched values.
    std::uint32_t remote_session_budget_ms = 120'000;  // JANUS_CACHE_REMOTE_SESSION_BUDGET_MS
    std::uint32_t remote_session_max_rejects = 16;
    std::uint64_t remote_session_max_decoded_bytes = 4ull * 1024 * 1024 * 1024;
    // When a build session ends with at least this many loose entries, the manager
    // starts jdc-compactor in the background (at most one per cache). 0: never.
    std::uint64_t compact_threshold = 0;  // JANUS_CACHE_COMPACT_THRESHOLD
    // The compactor executable; empty: jdc-compactor next to this program, else on PATH.
    std::filesystem::path compactor_path;  // JANUS_CACHE_COMPACTOR

    static CacheConfig defaults() { return {}; }

    // The payload compression of local cache files and of values sent to the remote.
    CompressionPolicy storage_compression() const;
    CompressionPolicy transfer_compression() const;
    // The local store's options: size, age, cleanup interval and compression.
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

}  // namespace jdc
