// jdc — cache configuration: the seed's fields and defaults, a configuration file in
// the cache directory, the JANUS_CACHE_* variables and command-line flags.
//
// Cache layer. (The seed's `enable_incremental_updates` is gone: every update is
// incremental by construction, each table under its own key, and a session writes only
// the tables it built; the only other mode, rebuilding everything, is `disable`.)
// CacheConfig::load() is what a compiler or tool calls. It decides the
// cache directory, then every setting, each from the first of (like ccache):
//   1. a command-line flag the caller passes (Request::flags),
//   2. the environment (JANUS_CACHE_*),
//   3. the cache directory's configuration file, <cache directory>/jdc.conf,
//   4. the default.
// and records where each value came from (CacheConfig::origins, `jdc config`).
//
// The cache directory: Request::directory (--dir, --cache-dir), else JANUS_CACHE_DIR,
// else the project's: the nearest directory, from Request::start (default: the
// working directory) up to the root, that holds a `.janus_cache/` directory, its
// `.janus_cache/dispatch_tables`; when there is none, `<start>/.janus_cache/dispatch_tables`
// (janusc passes the project directory, so its first build creates the cache there,
// and every command run anywhere inside the project finds it). To share one cache
// between projects, set JANUS_CACHE_DIR or create `.janus_cache/` in a common parent
// (e.g. your home directory).
//
// jdc.conf: UTF-8 text, one `key = value` per line; blank lines and lines whose first
// non-blank character is `#` are ignored; keys are the names below, values the
// syntax of their variable, blanks around both trimmed. An unknown key, a key given
// twice or a value that does not parse is an error naming the file, the line and the
// key; the file is never half-applied. `jdc init` writes one listing every key,
// commented out. Example:
//   # jdc.conf: settings of this cache, for everyone who uses it
//   max_size = 2G
//   max_age = 30d
//
//   key                        variable                               default
//   (cache directory)          JANUS_CACHE_DIR                        see above; not a jdc.conf key
//   max_size                   JANUS_CACHE_SIZE                       100M: the directory's size on disk,
//                                                                     everything in it counted; bytes, or with
//                                                                     a K/M/G/T suffix (powers of 1024; "KB",
//                                                                     "KiB" and lower case accepted); LRU
//                                                                     eviction to 80 %
//   max_age                    JANUS_CACHE_MAX_AGE                    7d: entries not read for this long are
//                                                                     evicted; seconds or with s/m/h/d
//   cleanup_interval           JANUS_CACHE_CLEANUP_INTERVAL           1d: how often a build session's end
//                                                                     runs age eviction and temp cleanup
//   disable                    JANUS_CACHE_DISABLE                    false: 1/true/yes/on turns caching off
//                                                                     (every lookup a miss, nothing written)
//   verbose                    JANUS_CACHE_VERBOSE                    false: one line per cache event on stderr
//   allow_shared               JANUS_CACHE_ALLOW_SHARED               false: true: no warning when the cache
//                                                                     directory is owned by another user or
//                                                                     writable by every user (a deliberately
//                                                                     shared cache)
//   write_through              JANUS_CACHE_WRITE_THROUGH              false: each built table written at once as
//                                                                     a loose file other processes see; by
//                                                                     default the session's tables are written
//                                                                     behind, as one pack, when 4096 are queued,
//                                                                     at endBuildSession() or when the manager
//                                                                     goes (a file per table costs more than
//                                                                     building it)
//   compression                JANUS_CACHE_COMPRESSION                auto: the payload codec of large arenas
//                                                                     (payload_codec.hpp): auto stores LZ4 from
//                                                                     64 KiB and sends zstd to the remote from
//                                                                     4 KiB; lz4 or zstd use that codec for
//                                                                     both; none stores and sends everything
//                                                                     raw. enable_compression = false also
//                                                                     turns it off.
//   remote                     JANUS_CACHE_REMOTE                     none: the team cache,
//                                                                     redis://[[user]:password@]host[:port][/db] or
//                                                                     redis+unix://[[user]:password@]/path[?db=N]
//   remote_read_only           JANUS_CACHE_REMOTE_READ_ONLY           false: fetch from the remote, never write it
//   remote_connect_timeout_ms  JANUS_CACHE_REMOTE_CONNECT_TIMEOUT_MS  200, from 1 to 600000
//   remote_timeout_ms          JANUS_CACHE_REMOTE_TIMEOUT_MS          500, from 1 to 600000: the longest wait for
//                                                                     the server in one socket read or write
//   remote_deadline_ms         JANUS_CACHE_REMOTE_DEADLINE_MS         5000, from 1 to 600000: every request done
//                                                                     from its first byte sent to its last
//                                                                     reply byte read
//   remote_session_budget_ms   JANUS_CACHE_REMOTE_SESSION_BUDGET_MS   120000, from 1 to 600000: time a session
//                                                                     may spend on the remote, summed over
//                                                                     threads; once spent, the remote is
//                                                                     switched off for the rest of the session
//   remote_secret              JANUS_CACHE_REMOTE_SECRET              none: the team secret: every value written
//                                                                     is sealed with a keyed MAC, and only
//                                                                     values sealed with it are used (readers
//                                                                     and writers must all have it;
//                                                                     format-spec/remote-cache-v1.md §3.3).
//                                                                     Never printed: `jdc config` shows set
//                                                                     or unset.
//   remote_ttl                 JANUS_CACHE_REMOTE_TTL                 0 (none, Redis evicts): expiry of remote
//                                                                     writes, as max_age, at most
//                                                                     9000000000000000 s (what Redis accepts)
//   remote_max_size            JANUS_CACHE_REMOTE_MAX_SIZE            64M, from 1 byte to 512M: the largest
//                                                                     value fetched or written
//   reader_grace               JANUS_CACHE_READER_GRACE               60s, as max_age: entries read this recently
//                                                                     are evicted for size only when the
//                                                                     directory is over its limit even without
//                                                                     them (a reader that has just found an
//                                                                     entry in the index is about to open it)
//   load_mode                  JANUS_CACHE_LOAD_MODE                  auto: read() loose arenas up to 256 KiB,
//                                                                     map larger ones and packs; read: read()
//                                                                     every loose arena (network filesystems,
//                                                                     where another machine may truncate a
//                                                                     mapped file and the reader would get
//                                                                     SIGBUS; packs are still mapped); map
//   prefetch                   JANUS_CACHE_PREFETCH                   true: a session starts by asking the kernel
//                                                                     to read ahead the tables the last
//                                                                     sessions read (read history); false: not
//   compact_threshold          JANUS_CACHE_COMPACT_THRESHOLD          8: small loose entries and packs at which
//                                                                     a session's end starts the compactor in
//                                                                     the background (0 = never, whatever else
//                                                                     is due); it also starts when dead bytes
//                                                                     make up over a quarter of the packs, or
//                                                                     the directory is over its limit
//   compactor                  JANUS_CACHE_COMPACTOR                  jdc-compactor beside the program, else
//                                                                     on PATH
// The remote tier (remote_store.hpp, format-spec/remote-cache-v1.md) is off unless
// `remote` names a server; one that fails or times out is switched off for the rest
// of the build session, which goes on with the local cache (build_cache_manager.hpp).
// A value that does not parse is an error naming the variable (or file, line and
// key, or flag) and the value, with a password in a URL shown as ***; it is never
// ignored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jdc/error.hpp"
#include "jdc/export.hpp"
#include "jdc/local_store.hpp"
#include "jdc/payload_codec.hpp"

namespace jdc {

// Where a setting's value came from, in rising precedence.
enum class ConfigSource : std::uint8_t { default_value, config_file, environment, flag };
// "default", "config file", "environment", "flag".
JDC_API std::string_view to_string(ConfigSource source) noexcept;
// "default", "config_file", "environment", "flag": the names in JSON.
JDC_API std::string_view json_name(ConfigSource source) noexcept;

// The name of the configuration file in a cache directory.
inline constexpr std::string_view kConfigFileName = "jdc.conf";

// One setting of a loaded configuration, as `jdc config` shows it.
struct ConfigOrigin {
    std::string key;        // jdc.conf key; "cache_dir" for the directory
    std::string variable;   // JANUS_CACHE_*
    std::string value;      // the effective value in jdc.conf syntax; a password shown as ***
    ConfigSource source = ConfigSource::default_value;
    std::string where;      // "<file>:<line>", the variable, the flag, or how a default was found
    std::string description;
};

// A command-line flag that sets a setting: the jdc.conf key, the text given, and the
// flag as the user spelled it (for messages), e.g. {"max_size", "2G", "--max-size"}.
struct ConfigFlag {
    std::string key;
    std::string value;
    std::string flag;
};

struct JDC_API CacheConfig {
    std::filesystem::path cache_directory = ".janus_cache/dispatch_tables";
    std::uint64_t max_cache_size_bytes = 100ull * 1024 * 1024;  // max_size
    std::uint64_t max_cache_age_seconds = 7ull * 24 * 60 * 60;   // max_age
    // The seed's switch for both optimizations of stored tables: the dispatch forms
    // (compressed table) inside arenas and the payload codec of large arenas.
    bool enable_compression = true;
    CodecChoice compression_codec = CodecChoice::automatic;  // compression
    bool write_through = false;                               // write_through
    std::size_t write_behind_tables = 4096;                   // queued tables that trigger a write (at least 1)
    std::uint64_t cache_cleanup_interval_seconds = 24ull * 60 * 60;  // cleanup_interval
    bool enabled = true;   // disable clears it
    std::string disabled_by;  // who turned caching off, for the build report ("JANUS_CACHE_DISABLE", "--no-cache", ...)
    bool verbose = false;  // verbose
    // A cache directory another user owns or every user may write is used, but with a
    // warning (another user could plant tables there); true silences it.
    bool allow_shared = false;  // allow_shared
    // The remote tier; off when remote_url is empty. The defaults are RemoteOptions'.
    std::string remote_url;                           // remote
    bool remote_read_only = false;                    // remote_read_only
    std::uint32_t remote_connect_timeout_ms = 200;    // remote_connect_timeout_ms
    std::uint32_t remote_timeout_ms = 500;            // remote_timeout_ms
    std::uint64_t remote_ttl_seconds = 0;             // remote_ttl
    std::uint64_t remote_max_value_bytes = 64ull * 1024 * 1024;  // remote_max_size
    std::uint32_t remote_deadline_ms = 5000;          // remote_deadline_ms
    std::string remote_secret;                        // remote_secret (RemoteOptions::secret)
    // Session budgets of the remote tier: once one is spent, the remote is switched off
    // for the rest of the session (one log line, counted as a remote error). Time spent
    // on remote requests (summed over threads), values rejected (each may have cost a
    // download and a decode up to the size cap), bytes decompressed from fetched values.
    std::uint32_t remote_session_budget_ms = 120'000;  // remote_session_budget_ms
    std::uint32_t remote_session_max_rejects = 16;
    std::uint64_t remote_session_max_decoded_bytes = 4ull * 1024 * 1024 * 1024;
    // When a build session ends with at least this many small loose entries and packs
    // (or dead bytes over a quarter of the packs, or the directory over its limit), the
    // manager starts jdc-compactor in the background, at low priority, at most one per
    // cache (compactor_launch.hpp). 0: never.
    std::uint64_t compact_threshold = 8;  // compact_threshold
    // The compactor executable; empty: jdc-compactor next to this program, else on PATH.
    std::filesystem::path compactor_path;  // compactor

    // Filled by load(): every setting with its value and source, cache directory first.
    std::vector<ConfigOrigin> origins;
    // The configuration file load() read; empty when there was none.
    std::filesystem::path config_file;

    // Disk limit, eviction and loading (max_cache_size_bytes and max_cache_age_seconds
    // above are the seed's: max_size, max_age).
    std::uint64_t reader_grace_seconds = 60;  // reader_grace
    LoadMode load_mode = LoadMode::automatic;  // load_mode
    bool prefetch = true;                      // prefetch

    static CacheConfig defaults() { return {}; }

    // The payload compression of local cache files and of values sent to the remote.
    CompressionPolicy storage_compression() const;
    CompressionPolicy transfer_compression() const;
    // The local store's options: size, age, grace, cleanup interval, load mode and compression.
    StoreOptions store_options() const;

    using Getenv = std::function<std::optional<std::string>(std::string_view name)>;
    struct Request {
        std::optional<std::filesystem::path> directory;  // --dir, --cache-dir: overrides everything
        std::string directory_flag = "--dir";            // how the program spells that flag, for `jdc config`
        std::filesystem::path start;                     // where the project search starts; empty: the working directory
        std::vector<ConfigFlag> flags;                   // settings given on the command line
        Getenv getenv;                                   // empty: the process environment (tests pass a map)
    };
    // The configuration as described at the top of this header: flags > environment >
    // <cache directory>/jdc.conf > defaults, with origins and config_file filled.
    // Errors: invalid_argument (a value, a key or a flag that is not valid, naming it),
    // io (jdc.conf exists but cannot be read, or is not a regular file). A cache
    // directory that exists but cannot be searched is no error: no jdc.conf is read
    // (the cache cannot be used anyway: a build goes on without it).
    static Result<CacheConfig> load(const Request& request);
    static Result<CacheConfig> load();

    // Defaults overridden by the JANUS_CACHE_* variables of this process only: no
    // directory search, no jdc.conf (load() does both).
    static Result<CacheConfig> from_environment();
    // Same, reading variables through `getenv` (tests pass a map).
    static Result<CacheConfig> from_environment(const Getenv& getenv);
    static Result<CacheConfig> from_environment(const Getenv& getenv, CacheConfig base);
};

// Every setting (not the directory) with its value in `config`, its variable and
// description, as from the default: what `jdc init` writes into a new jdc.conf.
JDC_API std::vector<ConfigOrigin> describe_settings(const CacheConfig& config);

// The cache directory of the project around `start`: `<dir>/.janus_cache/dispatch_tables`
// for the nearest `dir`, from `start` up to the root, holding a `.janus_cache/`
// directory; nullopt when there is none. `start` is made absolute first.
JDC_API std::optional<std::filesystem::path> find_project_cache_directory(const std::filesystem::path& start);

// "100", "64K", "512M", "2G", "1TiB" -> bytes. nullopt when malformed or overflowing.
JDC_API std::optional<std::uint64_t> parse_byte_size(std::string_view text) noexcept;
// "0", "42", " 7 " -> the count; nullopt for anything else (signs, suffixes, overflow).
JDC_API std::optional<std::uint64_t> parse_count(std::string_view text) noexcept;
// "1", "true", "yes", "on" -> true; "0", "false", "no", "off", "" -> false; else nullopt.
JDC_API std::optional<bool> parse_flag(std::string_view text) noexcept;
// "90", "90s", "15m", "12h", "14d" -> seconds. nullopt when malformed or overflowing.
JDC_API std::optional<std::uint64_t> parse_duration_seconds(std::string_view text) noexcept;
// The inverses, in the largest unit that is exact: 2147483648 -> "2G", 1536 -> "1536",
// 0 -> "0"; 1209600 -> "14d", 5400 -> "90m", 45 -> "45s".
JDC_API std::string format_byte_size(std::uint64_t bytes);
JDC_API std::string format_duration_seconds(std::uint64_t seconds);
// "auto", "read", "map" (any case) -> the LoadMode; nullopt for anything else.
JDC_API std::optional<LoadMode> parse_load_mode(std::string_view text) noexcept;

}  // namespace jdc
