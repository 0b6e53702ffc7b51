#include "tools/prometheus_export.hpp"

#include <cstdio>
#include <sstream>

namespace jdc::tools {

namespace {

// A label value: backslash, double quote and line feed escaped (the format's rule).
std::string escape_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

// Counters and sizes exactly as integers (up to 2^53, well beyond what a cache counts),
// ratios and seconds with the precision they have.
std::string number(double v) {
    char buf[48];
    if (v == static_cast<double>(static_cast<long long>(v)) && v < 9.0e15) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

class Exposition {
public:
    explicit Exposition(const std::string& cache) : cache_label_("cache=\"" + escape_label(cache) + "\"") {}

    // One metric family: HELP and TYPE once, then its samples.
    void family(const char* name, const char* type, const char* help) {
        out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
        name_ = name;
    }
    void sample(double value, const std::string& labels = {}) {
        out_ << name_ << "{" << cache_label_ << (labels.empty() ? "" : "," + labels) << "} " << number(value) << "\n";
    }
    void metric(const char* name, const char* type, const char* help, double value) {
        family(name, type, help);
        sample(value);
    }
    std::string text() const { return out_.str(); }

private:
    std::string cache_label_;
    std::string name_;
    std::ostringstream out_;
};

double seconds(std::uint64_t ns) { return static_cast<double>(ns) / 1e9; }

}  // namespace

std::string prometheus_text(const CacheSurvey& s, const std::vector<detail::SessionRecord>& history) {
    Exposition e(s.directory.string());
    const IndexSummary& i = s.stats.index;
    e.family("jdc_cache_entries", "gauge", "Entries in the cache directory, by where they are stored.");
    e.sample(static_cast<double>(s.loose_entries), "location=\"loose\"");
    e.sample(static_cast<double>(s.packed_entries), "location=\"packed\"");
    e.metric("jdc_cache_size_bytes", "gauge", "Bytes of the entries, as eviction counts them.", static_cast<double>(i.total_bytes));
    e.metric("jdc_cache_max_size_bytes", "gauge", "The size limit (max_size, JANUS_CACHE_SIZE).", static_cast<double>(s.stats.max_size_bytes));
    e.metric("jdc_cache_disk_bytes", "gauge", "Bytes allocated on disk by loose files and packs.", static_cast<double>(s.listing.disk_bytes()));
    e.family("jdc_cache_files", "gauge", "Files in the cache directory, by kind.");
    e.sample(static_cast<double>(s.listing.loose.size()), "kind=\"loose\"");
    e.sample(static_cast<double>(s.listing.packs.size()), "kind=\"pack\"");
    e.metric("jdc_cache_newest_entry_timestamp_seconds", "gauge", "Creation time of the newest entry (Unix seconds; 0 without entries).",
             seconds(s.newest_ns));
    e.metric("jdc_cache_last_cleanup_timestamp_seconds", "gauge", "When age eviction and cleanup last ran (Unix seconds; 0: never).",
             seconds(i.last_cleanup_ns));

    // The store's counters: every process that read or wrote the directory.
    e.metric("jdc_store_hits_total", "counter", "Entries found by readers of the store (every process).", static_cast<double>(i.hits));
    e.metric("jdc_store_misses_total", "counter", "Keys not found by readers of the store (every process).", static_cast<double>(i.misses));
    e.metric("jdc_store_evictions_total", "counter", "Entries evicted by age or size.", static_cast<double>(i.evictions));
    e.metric("jdc_store_corrupt_drops_total", "counter", "Entries dropped because they failed verification.", static_cast<double>(i.corrupt_drops));
    e.metric("jdc_store_stale_drops_total", "counter", "Entries dropped because they no longer bound to the compiler's types.",
             static_cast<double>(i.stale_drops));
    e.metric("jdc_store_read_bytes_total", "counter", "Bytes of entries served by the store.", static_cast<double>(i.bytes_read));
    e.metric("jdc_store_written_bytes_total", "counter", "Bytes of entries written to the store.", static_cast<double>(i.bytes_written));

    // The build sessions' totals (stats.json).
    const CacheMetrics m = s.recorded ? s.recorded->lifetime : CacheMetrics{};
    e.metric("jdc_lookups_total", "counter", "Table lookups by build sessions.", static_cast<double>(m.lookups));
    e.metric("jdc_hits_total", "counter", "Lookups served from the cache (local or remote).", static_cast<double>(m.hits));
    e.family("jdc_misses_total", "counter", "Lookups that built their table, by the reason of the miss.");
    for (std::size_t r = 0; r < kMissReasonCount; ++r)
        e.sample(static_cast<double>(m.misses_by_reason[r]), "reason=\"" + std::string(json_name(static_cast<MissReason>(r))) + "\"");
    e.metric("jdc_build_seconds_total", "counter", "Time spent in table builders on misses, summed over threads.", seconds(m.build_ns));
    e.metric("jdc_load_seconds_total", "counter", "Time spent serving hits (lookup, verification, binding), summed over threads.",
             seconds(m.load_ns));
    e.metric("jdc_remote_hits_total", "counter", "Tables served by the remote tier.", static_cast<double>(m.remote_hits));
    e.metric("jdc_remote_misses_total", "counter", "Remote lookups that found nothing.", static_cast<double>(m.remote_misses));
    e.metric("jdc_remote_rejects_total", "counter", "Remote values refused by verification, the size cap or the name check.",
             static_cast<double>(m.remote_rejects));
    e.metric("jdc_remote_errors_total", "counter", "Remote errors (each switched the remote off for its session).",
             static_cast<double>(m.remote_errors));
    e.metric("jdc_remote_timeouts_total", "counter", "Remote timeouts (each switched the remote off for its session).",
             static_cast<double>(m.remote_timeouts));
    e.metric("jdc_remote_writes_total", "counter", "Tables written to the remote tier.", static_cast<double>(m.remote_writes));
    e.metric("jdc_remote_received_bytes_total", "counter", "Bytes received from the remote tier.", static_cast<double>(m.remote_bytes_in));
    e.metric("jdc_remote_sent_bytes_total", "counter", "Bytes sent to the remote tier.", static_cast<double>(m.remote_bytes_out));

    const CacheMetrics last = s.recorded ? s.recorded->last_session : CacheMetrics{};
    e.metric("jdc_last_session_lookups", "gauge", "Lookups of the last build session.", static_cast<double>(last.lookups));
    e.metric("jdc_last_session_hit_ratio", "gauge", "Hits / lookups of the last build session (0 without lookups).", last.hit_ratio());
    e.metric("jdc_sessions_recorded", "gauge", "Build sessions in the cache's history (at most the last 100 are kept).",
             static_cast<double>(history.size()));
    e.metric("jdc_last_session_end_timestamp_seconds", "gauge", "When the last recorded build session ended (Unix seconds; 0: none).",
             history.empty() ? 0.0 : seconds(history.back().ended_ns));
    return e.text();
}

}  // namespace jdc::tools
