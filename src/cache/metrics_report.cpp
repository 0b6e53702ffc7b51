#include "cache/metrics_report.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <span>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jdc/detail/atomic_file.hpp"
#include "storage/store_lock.hpp"
#include "util/clock.hpp"
#include "util/forward_error.hpp"
#include "util/json_text.hpp"
#include "util/regular_file.hpp"
#include "util/report_format.hpp"
#include "util/unique_fd.hpp"

namespace jdc::detail {
namespace fs = std::filesystem;
using json = nlohmann::json;

json remote_metrics_json(const CacheMetrics& m) {
    return {{"hits", m.remote_hits},       {"misses", m.remote_misses},     {"rejects", m.remote_rejects},
            {"errors", m.remote_errors},   {"timeouts", m.remote_timeouts}, {"writes", m.remote_writes},
            {"bytes_in", m.remote_bytes_in}, {"bytes_out", m.remote_bytes_out}, {"ns", m.remote_ns}};
}

json metrics_json(const CacheMetrics& m) {
    json reasons = json::object();
    for (std::size_t i = 0; i < kMissReasonCount; ++i)
        if (m.misses_by_reason[i] != 0) reasons[std::string(json_name(static_cast<MissReason>(i)))] = m.misses_by_reason[i];
    return {{"lookups", m.lookups}, {"hits", m.hits}, {"misses", m.misses}, {"misses_by_reason", reasons},
            {"hit_ratio", m.hit_ratio()}, {"build_ns", m.build_ns}, {"load_ns", m.load_ns},
            {"bytes_read", m.bytes_read}, {"bytes_written", m.bytes_written}, {"evictions", m.evictions},
            {"corrupt_drops", m.corrupt_drops}, {"stale_drops", m.stale_drops}, {"store_errors", m.store_errors},
            {"derived_errors", m.derived_errors}};
}

namespace {

std::uint64_t number(const json& j, const char* key) {
    return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<std::uint64_t>() : 0;
}

void remote_metrics_from_json(const json& j, CacheMetrics& m) {
    if (!j.is_object()) return;
    m.remote_hits = number(j, "hits");
    m.remote_misses = number(j, "misses");
    m.remote_rejects = number(j, "rejects");
    m.remote_errors = number(j, "errors");
    m.remote_timeouts = number(j, "timeouts");
    m.remote_writes = number(j, "writes");
    m.remote_bytes_in = number(j, "bytes_in");
    m.remote_bytes_out = number(j, "bytes_out");
    m.remote_ns = number(j, "ns");
}

bool has_remote_counts(const CacheMetrics& m) noexcept {
    return (m.remote_hits | m.remote_misses | m.remote_rejects | m.remote_errors | m.remote_timeouts | m.remote_writes) != 0;
}

// stats.json's totals: the remote counters too, once there are any.
json stored_metrics_json(const CacheMetrics& m) {
    json j = metrics_json(m);
    if (has_remote_counts(m)) j["remote"] = remote_metrics_json(m);
    return j;
}

CacheMetrics metrics_from_json(const json& j) {
    CacheMetrics m;
    m.lookups = number(j, "lookups");
    m.hits = number(j, "hits");
    m.misses = number(j, "misses");
    m.build_ns = number(j, "build_ns");
    m.load_ns = number(j, "load_ns");
    m.bytes_read = number(j, "bytes_read");
    m.bytes_written = number(j, "bytes_written");
    m.evictions = number(j, "evictions");
    m.corrupt_drops = number(j, "corrupt_drops");
    m.stale_drops = number(j, "stale_drops");
    m.store_errors = number(j, "store_errors");
    m.derived_errors = number(j, "derived_errors");
    if (j.contains("misses_by_reason") && j["misses_by_reason"].is_object())
        for (std::size_t i = 0; i < kMissReasonCount; ++i) {
            const auto reason = static_cast<MissReason>(i);
            // Files of schema 1 named reasons in words ("source changed").
            for (std::string_view name : {json_name(reason), to_string(reason)}) {
                const json& by_reason = j["misses_by_reason"];
                const auto it = by_reason.find(std::string(name));
                if (it != by_reason.end() && it->is_number_unsigned()) {
                    m.misses_by_reason[i] = it->get<std::uint64_t>();
                    break;
                }
            }
        }
    if (j.contains("remote")) remote_metrics_from_json(j["remote"], m);
    return m;
}

fs::path stats_file(const fs::path& cache_directory) { return cache_directory / "stats.json"; }
fs::path history_file(const fs::path& cache_directory) { return cache_directory / "history.jsonl"; }

// stats.json is a few KiB; anything much larger is not one.
constexpr std::uint64_t kMaxStatsBytes = 16ull << 20;

// Reads a small JSON file like every cache file (regular_file.hpp: a FIFO or a link
// in its place is refused, not waited on or followed); nullopt when missing,
// unreadable or unparsable (derived data: never fatal). A writer rewrites stats.json
// in place (write_json): a read that met the write half done does not parse, and is
// read again.
std::optional<json> read_json(const fs::path& p) {
    constexpr int kReads = 3;
    for (int attempt = 0; attempt < kReads; ++attempt) {
        auto text = read_regular_file(p, kMaxStatsBytes);
        if (!text) return std::nullopt;
        json j = json::parse(*text, nullptr, false);
        if (!j.is_discarded()) return j;
    }
    return std::nullopt;
}

// A document that fits in the existing file, itself at most a page, goes over it in
// one pwrite() at offset 0, padded with spaces (JSON's whitespace) to the file's size:
// a process killed meanwhile leaves the old bytes or the new ones, never a mix (the
// kernel copies a page or nothing before it acts on a fatal signal); the file never
// grows, so a full disk cannot cut the write short; and a build's session end saves
// the creation and rename of a file, the largest part of its own cost on a small
// build. Otherwise (no file yet, a longer document) the document is staged in the
// cache's tmp/, so a writer killed midway leaves nothing that cleanup does not find,
// and renamed over the file, with kSlack spaces of room for the next ones' longer
// numbers. Callers hold the stats lock.
Result<void> write_json(const fs::path& p, const fs::path& staging_dir, const json& j) {
    constexpr std::size_t kInPlaceMax = 4096, kSlack = 256;
    std::string text = dump_json(j, 1);
    if (auto fd = open_regular_file(p, O_RDWR)) {
        struct stat st {};
        const bool fits = ::fstat(fd->get(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) <= kInPlaceMax &&
                          text.size() <= static_cast<std::size_t>(st.st_size);
        if (fits) {
            text.append(static_cast<std::size_t>(st.st_size) - text.size(), ' ');
            if (::pwrite(fd->get(), text.data(), text.size(), 0) == static_cast<ssize_t>(text.size())) return {};
            text = dump_json(j, 1);  // failed: replaced whole below
        }
    }
    if (text.size() + kSlack <= kInPlaceMax) text.append(kSlack, ' ');
    auto staged = StagedFile::stage(staging_dir, p.filename().string(), std::as_bytes(std::span<const char>(text.data(), text.size())),
                                    Durability::no_sync);
    if (!staged) return tl::unexpected(staged.error());
    // The directory exists after its first record: create it only when publishing fails
    // (another thread may create it meanwhile: create_directories then does nothing).
    if (auto published = staged->publish(p); published) return published;
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec) return make_error(ErrorCode::io, "cannot create directory '" + p.parent_path().string() + "': " + ec.message());
    return staged->publish(p);
}

void write_remote_report(std::ostream& out, const ReportContext::Remote& remote, const CacheMetrics& m) {
    out << "  remote:       " << remote.endpoint << (remote.read_only ? " (read-only)" : "") << ", "
        << (remote.off_reason.empty() ? "on" : "switched off") << "\n"
        << "                " << m.remote_hits << " hits, " << m.remote_misses << " misses, " << m.remote_rejects << " rejected, "
        << m.remote_writes << " written; " << format_bytes(m.remote_bytes_in) << " in, " << format_bytes(m.remote_bytes_out) << " out; "
        << m.remote_errors << " errors, " << m.remote_timeouts << " timeouts; " << format_duration_ns(m.remote_ns)
        << " waiting, summed over threads\n";
    if (!remote.off_reason.empty()) out << "  remote off:   " << remote.off_reason << " (the rest of the session ran locally)\n";
}

json remote_report_json(const ReportContext::Remote& remote, const CacheMetrics& session, const CacheMetrics& lifetime) {
    json j = {{"url", remote.endpoint},
              {"read_only", remote.read_only},
              {"state", remote.off_reason.empty() ? "on" : "off"},
              {"session", remote_metrics_json(session)},
              {"lifetime", remote_metrics_json(lifetime)}};
    if (!remote.off_reason.empty()) j["off_reason"] = remote.off_reason;
    return j;
}

}  // namespace

void write_build_report(std::ostream& out, const ReportContext& r) {
    const CacheMetrics& m = r.session;
    out << "jdc build cache report\n";
    if (!r.enabled && r.unusable_reason.empty())
        out << "  cache:        disabled" << (r.disabled_by.empty() ? "" : " (" + r.disabled_by + ")")
            << ": every table built, nothing stored\n";
    else if (!r.enabled)
        out << "  cache:        not used: " << r.unusable_reason << ": every table built, nothing stored\n";
    else if (!r.read_only_reason.empty())
        out << "  cache:        read-only: " << r.read_only_reason << ": tables served from the cache, nothing written\n";
    out << "  lookups:      " << m.lookups << " (" << m.hits << " hits, " << m.misses << " misses, hit ratio "
        << format_percent(m.hits, m.lookups) << ")\n";
    if (m.misses > 0) {
        out << "  misses:      ";
        bool first = true;
        for (std::size_t i = 0; i < kMissReasonCount; ++i) {
            if (m.misses_by_reason[i] == 0) continue;
            out << (first ? " " : ", ") << to_string(static_cast<MissReason>(i)) << " " << m.misses_by_reason[i];
            first = false;
        }
        out << "\n";
    }
    // Lookups run on many threads: these times are summed over them, and so are
    // neither the build's wall-clock time nor its CPU time.
    out << "  building:     " << m.misses << " tables, " << format_duration_ns(m.build_ns) << " summed over threads";
    if (m.misses) out << " (" << format_duration_ns(m.build_ns / m.misses) << " each)";
    out << "\n  loading:      " << m.hits << " tables, " << format_duration_ns(m.load_ns) << " summed over threads";
    if (m.hits) out << " (" << format_duration_ns(m.load_ns / m.hits) << " each)";
    const std::int64_t saved = m.time_saved_ns(r.fallback_build_ns);
    out << "\n  time saved:   " << (saved < 0 ? "-" : "") << format_duration_ns(static_cast<std::uint64_t>(saved < 0 ? -saved : saved))
        << " summed over threads (hits x mean build time of misses - load time)\n"
        << "  bytes:        " << format_bytes(m.bytes_read) << " read, " << format_bytes(m.bytes_written) << " written\n"
        << "  drops:        " << m.evictions << " evicted, " << m.corrupt_drops << " corrupt, " << m.stale_drops << " stale"
        << (m.store_errors ? ", " + std::to_string(m.store_errors) + " store errors" : "")
        << (m.derived_errors ? ", " + std::to_string(m.derived_errors) + " derived-data writes failed" : "") << "\n";
    if (r.remote) write_remote_report(out, *r.remote, m);
    if (r.store)
        out << "  cache:        " << r.store->index.live_count << " entries, " << format_bytes(r.store->index.total_bytes) << " of "
            << format_bytes(r.store->max_size_bytes) << " in " << r.directory.string() << "\n";
}

std::string build_report_json(const ReportContext& r) {
    json j = {{"schema_version", kJsonSchemaVersion},
              {"session", metrics_json(r.session)},
              {"lifetime", metrics_json(r.lifetime)},
              {"enabled", r.enabled}};
    // How much of the cache was used: read_write, read_only (and why), none (and why,
    // unless configuration disabled it: disabled_by).
    j["access"] = !r.enabled ? "none" : r.read_only_reason.empty() ? "read_write" : "read_only";
    if (!r.enabled && !r.unusable_reason.empty()) j["access_reason"] = r.unusable_reason;
    if (r.enabled && !r.read_only_reason.empty()) j["access_reason"] = r.read_only_reason;
    j["session"]["time_saved_ns"] = r.session.time_saved_ns(r.fallback_build_ns);
    if (r.store)
        j["cache"] = {{"directory", r.directory.string()}, {"entries", r.store->index.live_count}, {"bytes", r.store->index.total_bytes},
                      {"max_bytes", r.store->max_size_bytes}, {"packs", r.store->pack_count}};
    if (r.remote) j["remote"] = remote_report_json(*r.remote, r.session, r.lifetime);
    return dump_json(j, 2);
}

namespace {

// Runs `change` (returning a Result) holding <cache_directory>/stats.lock: other
// processes end sessions and zero the totals too.
template <class Change>
auto under_stats_lock(const fs::path& cache_directory, Change&& change) -> decltype(change()) {
    const fs::path lock_file = cache_directory / "stats.lock";
    auto lock = StoreLock::for_file(lock_file);
    if (!lock) return tl::unexpected(lock.error());
    ScopedStoreLock held(**lock);
    if (!held.owns()) return make_error(ErrorCode::io, "cannot lock '" + lock_file.string() + "': " + held.failure());
    return change();
}

json stats_document(const RecordedMetrics& totals, std::uint64_t zeroed_at_ns) {
    json out = {{"schema_version", kJsonSchemaVersion},
                {"lifetime", stored_metrics_json(totals.lifetime)},
                {"last_session", stored_metrics_json(totals.last_session)},
                {"mean_build_ns", totals.mean_build_ns}};
    if (zeroed_at_ns != 0) out["zeroed_at_ns"] = zeroed_at_ns;
    return out;
}

std::uint64_t zeroed_at(const std::optional<json>& j) {
    return j && j->is_object() ? number(*j, "zeroed_at_ns") : 0;
}

// history.jsonl holds at most 2 x kHistorySessions lines of a few KiB; anything much
// larger is not one.
constexpr std::uint64_t kMaxHistoryBytes = 64ull << 20;

// Appends one line to history.jsonl (the caller holds stats.lock) and, when the file
// has grown past twice the sessions it keeps, rewrites it with the newest. A line is
// one write() on an O_APPEND descriptor: a writer killed midway leaves a line cut
// short, which readers skip.
Result<void> append_history(const fs::path& cache_directory, const SessionRecord& session) {
    const fs::path file = history_file(cache_directory);
    const std::string line = dump_json(session_record_json(session)) + "\n";
    {
        // Opened like every cache file (regular_file.hpp): a FIFO or link in its place is refused.
        auto fd = open_regular_file(file, O_WRONLY | O_APPEND | O_CREAT);
        if (!fd) return tl::unexpected(fd.error());
        if (const int err = write_all(fd->get(), std::as_bytes(std::span<const char>(line.data(), line.size()))); err != 0)
            return make_error(ErrorCode::io, "cannot write '" + file.string() + "': " + std::strerror(err));
    }
    // Counting lines needs the file's text; below this size it cannot hold enough
    // lines to need trimming unless they are tiny, and then it is small anyway.
    constexpr std::uint64_t kTrimCheckBytes = 64 * 1024;
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) < kTrimCheckBytes) return {};
    auto text = read_regular_file(file, kMaxHistoryBytes);
    if (!text) return tl::unexpected(text.error());
    std::istringstream in(*text);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(std::move(l));
    if (lines.size() <= 2 * kHistorySessions) return {};
    std::string kept;
    for (std::size_t i = lines.size() - kHistorySessions; i < lines.size(); ++i) kept += lines[i] + "\n";
    auto staged = StagedFile::stage(cache_directory / "tmp", "history.jsonl", std::as_bytes(std::span<const char>(kept.data(), kept.size())),
                                    Durability::no_sync);
    if (!staged) return tl::unexpected(staged.error());
    return staged->publish(file);
}

}  // namespace

Result<RecordedMetrics> add_session_to_stats(const fs::path& cache_directory, const SessionRecord& record) {
    return under_stats_lock(cache_directory, [&]() -> Result<RecordedMetrics> {
        const CacheMetrics& session = record.metrics;
        RecordedMetrics totals;
        const auto previous = read_json(stats_file(cache_directory));
        if (previous && previous->is_object() && previous->contains("lifetime")) totals.lifetime = metrics_from_json((*previous)["lifetime"]);
        // The mean over every table built so far, for reports of sessions that build none.
        const std::uint64_t built = totals.lifetime.misses + session.misses;
        const std::uint64_t previous_mean = previous && previous->is_object() ? number(*previous, "mean_build_ns") : 0;
        totals.mean_build_ns = built == 0 ? 0 : (totals.lifetime.build_ns + session.build_ns) / built;
        // After a zeroing the totals hold no builds: keep the mean measured before it.
        if (session.misses == 0 && totals.lifetime.misses == 0) totals.mean_build_ns = previous_mean;
        totals.lifetime += session;
        totals.last_session = session;
        JDC_FORWARD_IF_ERROR(write_json(stats_file(cache_directory), cache_directory / "tmp", stats_document(totals, zeroed_at(previous))));
        (void)append_history(cache_directory, record);  // derived data: a build never fails for it
        return totals;
    });
}

Result<void> zero_recorded_metrics(const fs::path& cache_directory) {
    return under_stats_lock(cache_directory, [&]() -> Result<void> {
        RecordedMetrics zero;
        if (const auto previous = read_json(stats_file(cache_directory)); previous && previous->is_object())
            zero.mean_build_ns = number(*previous, "mean_build_ns");
        return write_json(stats_file(cache_directory), cache_directory / "tmp", stats_document(zero, wall_clock_ns()));
    });
}

std::uint64_t recorded_metrics_zeroed_at(const fs::path& cache_directory) { return zeroed_at(read_json(stats_file(cache_directory))); }

json session_record_json(const SessionRecord& r) {
    json causes = json::array();
    for (const MissCause& c : r.causes) causes.push_back({{"reason", json_name(c.reason)}, {"detail", c.detail}, {"misses", c.misses}});
    json j = {{"schema_version", kJsonSchemaVersion},
              {"started_ns", r.started_ns},
              {"ended_ns", r.ended_ns},
              {"metrics", stored_metrics_json(r.metrics)},
              {"causes", causes},
              {"other_cause_misses", r.other_cause_misses},
              {"missed_tables", r.missed_tables},
              {"missed_tables_omitted", r.missed_tables_omitted}};
    return j;
}

std::optional<SessionRecord> session_record_from_json(const json& j) {
    if (!j.is_object() || !j.contains("metrics") || !j["metrics"].is_object()) return std::nullopt;
    SessionRecord r;
    r.started_ns = number(j, "started_ns");
    r.ended_ns = number(j, "ended_ns");
    r.metrics = metrics_from_json(j["metrics"]);
    r.other_cause_misses = number(j, "other_cause_misses");
    if (j.contains("causes") && j["causes"].is_array())
        for (const json& c : j["causes"]) {
            if (!c.is_object() || !c.contains("reason") || !c["reason"].is_string()) continue;
            const std::string reason = c["reason"].get<std::string>();
            for (std::size_t i = 0; i < kMissReasonCount; ++i)
                if (json_name(static_cast<MissReason>(i)) == reason) {
                    MissCause cause;
                    cause.reason = static_cast<MissReason>(i);
                    cause.detail = c.contains("detail") && c["detail"].is_string() ? c["detail"].get<std::string>() : "";
                    cause.misses = number(c, "misses");
                    r.causes.push_back(std::move(cause));
                }
        }
    if (j.contains("missed_tables") && j["missed_tables"].is_array())
        for (const json& t : j["missed_tables"])
            if (t.is_string()) r.missed_tables.push_back(t.get<std::string>());
    r.missed_tables_omitted = j.contains("missed_tables_omitted") && j["missed_tables_omitted"].is_boolean() &&
                              j["missed_tables_omitted"].get<bool>();
    return r;
}

std::vector<SessionRecord> read_session_history(const fs::path& cache_directory, std::size_t last) {
    std::vector<SessionRecord> out;
    // Opened like every cache file: a FIFO planted as history.jsonl is refused, not waited on.
    const auto text = read_regular_file(history_file(cache_directory), kMaxHistoryBytes);
    if (!text) return out;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
        const json j = json::parse(line, nullptr, false);
        if (j.is_discarded()) continue;  // cut short by a writer that died
        if (auto r = session_record_from_json(j)) out.push_back(std::move(*r));
    }
    if (out.size() > last) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(last));
    return out;
}

}  // namespace jdc::detail

namespace jdc {

std::optional<RecordedMetrics> read_recorded_metrics(const std::filesystem::path& cache_directory) {
    const auto j = detail::read_json(detail::stats_file(cache_directory));
    if (!j || !j->is_object()) return std::nullopt;
    RecordedMetrics m;
    if (j->contains("lifetime")) m.lifetime = detail::metrics_from_json((*j)["lifetime"]);
    if (j->contains("last_session")) m.last_session = detail::metrics_from_json((*j)["last_session"]);
    m.mean_build_ns = detail::number(*j, "mean_build_ns");
    return m;
}

}  // namespace jdc
