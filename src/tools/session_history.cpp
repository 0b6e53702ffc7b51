#include "tools/session_history.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <map>

#include "cache/metrics_report.hpp"
#include "tools/tool_support.hpp"
#include "util/report_format.hpp"

namespace jdc::tools {
using json = nlohmann::json;
using detail::SessionRecord;

namespace {

std::string percent(std::uint64_t part, std::uint64_t whole) {
    if (whole == 0) return "n/a";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.0f %%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
    return buf;
}

// What a cause's detail is, in a sentence: "edits to src/core/math.jn".
std::string cause_text(const HistoryAnalysis::Cause& c) {
    switch (c.reason) {
        case MissReason::source_changed: return "edits to " + c.detail;
        case MissReason::type_changed: return "type changes (" + c.detail + ")";  // the detail is a sentence
        case MissReason::compiler_changed: return "the compiler change " + c.detail;
        default: return std::string(to_string(c.reason)) + (c.detail.empty() ? "" : " (" + c.detail + ")");
    }
}

void suggest(HistoryAnalysis& a, const CacheSurvey& survey) {
    auto add = [&](std::string id, std::string text) { a.suggestions.push_back({std::move(id), std::move(text)}); };
    const std::uint64_t recent = a.recent_misses;
    const std::size_t window = std::min(a.sessions, kRecentSessions);
    const std::string last = window == 1 ? "the last session" : "the last " + std::to_string(window) + " sessions";
    auto recent_for = [&](MissReason r) {
        for (const auto& reason : a.reasons)
            if (reason.reason == r) return reason.recent_misses;
        return std::uint64_t{0};
    };

    // One input behind many misses: the change that costs the most rebuilds. Measured
    // against the misses a change caused: first builds and a disabled cache are not
    // changes, and would hide the pattern in a young cache.
    const std::uint64_t changed = recent - std::min(recent, recent_for(MissReason::never_seen) + recent_for(MissReason::disabled));
    if (!a.causes.empty() && changed > 0) {
        const HistoryAnalysis::Cause& top = a.causes.front();
        if (top.misses * 4 >= changed && top.sessions >= 2 &&
            (top.reason == MissReason::source_changed || top.reason == MissReason::type_changed))
            add("frequent_change", percent(top.misses, changed) + " of the misses in " + last + " that a change caused (" +
                                       std::to_string(top.misses) + " of " + std::to_string(changed) + ") come from " + cause_text(top) +
                                       ", changed in " + std::to_string(top.sessions) + " of them; each change rebuilt up to " +
                                       std::to_string(top.most_in_one_session) +
                                       " tables, the ones that depend on it. Moving what changes often out of a widely imported "
                                       "module, or its types out of the domains of many generic functions, rebuilds fewer.");
    }
    // Evictions: the cache is too small for what is built.
    if (const std::uint64_t evicted = recent_for(MissReason::evicted); evicted > 0 && evicted * 10 >= recent) {
        const std::uint64_t used = survey.stats.index.total_bytes, limit = survey.stats.max_size_bytes;
        add("raise_max_size", percent(evicted, recent) + " of the misses in " + last + " (" + std::to_string(evicted) +
                                  ") rebuilt tables that had been evicted; the cache holds " + format_bytes(used) + " of its " +
                                  format_bytes(limit) + " limit. Raise it (jdc.conf in the cache directory: max_size = " +
                                  format_byte_size(std::max<std::uint64_t>(limit * 2, 1)) + ", or JANUS_CACHE_SIZE).");
    } else if (survey.stats.max_size_bytes > 0 && survey.stats.index.total_bytes * 10 >= survey.stats.max_size_bytes * 9) {
        add("near_max_size", "the cache holds " + format_bytes(survey.stats.index.total_bytes) + " of its " +
                                 format_bytes(survey.stats.max_size_bytes) + " limit: the next builds will evict. Raise max_size (jdc.conf) "
                                 "if the tables of every configuration you build should stay.");
    }
    if (const std::uint64_t config = recent_for(MissReason::config_changed); config > 0 && config * 4 >= recent)
        add("config_changes", percent(config, recent) + " of the misses in " + last + " (" + std::to_string(config) +
                                  ") come from a change of build flags: each configuration has its own tables. If builds alternate "
                                  "between configurations on purpose, size the cache for all of them; otherwise keep the flags that "
                                  "change tables stable.");
    if (const std::uint64_t compiler = recent_for(MissReason::compiler_changed); compiler > 0)
        add("compiler_changed", std::to_string(compiler) + " misses in " + last +
                                    " followed a change of the compiler: expected once per upgrade. If compilers of two versions build "
                                    "in turn, give each its own cache directory (JANUS_CACHE_DIR).");
    if (const std::uint64_t damaged = recent_for(MissReason::corrupt) + recent_for(MissReason::stale); damaged > 0)
        add("damaged_entries", std::to_string(damaged) + " misses in " + last +
                                   " found an entry damaged or no longer matching its types; it was dropped and rebuilt. Run jdc "
                                   "validate to check the whole cache.");
    if (const std::uint64_t never = recent_for(MissReason::never_seen); never > 0 && never * 2 >= recent && a.recent_lookups > 0 &&
                                                                          a.recent_hits * 2 < a.recent_lookups)
        add("first_builds", percent(never, recent) + " of the misses in " + last +
                                " are tables never built with this cache: first builds. A team cache (JANUS_CACHE_REMOTE, "
                                "README \"Run a team cache\") lets every machine start from the tables CI built.");
    for (const HistoryAnalysis::Table& t : a.tables) {
        if (t.sessions < 3 || t.sessions * 2 < std::min<std::uint64_t>(a.sessions_naming_tables, kRecentSessions)) break;
        add("recurring_table", "table '" + t.name + "' missed in " + std::to_string(t.sessions) + " of the " +
                                   std::to_string(a.sessions_naming_tables) +
                                   " sessions that named their misses: something it depends on changes on nearly every build (a "
                                   "generated source, a timestamp among the flags?). jdc explain shows what changed.");
        break;  // the worst one: the others are in the table above
    }
    if (const std::uint64_t disabled = recent_for(MissReason::disabled); disabled > 0)
        add("cache_disabled", std::to_string(disabled) + " lookups in " + last + " ran with caching disabled (JANUS_CACHE_DISABLE or disable in jdc.conf).");
    if (a.earlier_lookups > 0 && a.recent_lookups > 0) {
        const double now = static_cast<double>(a.recent_hits) / static_cast<double>(a.recent_lookups);
        const double before = static_cast<double>(a.earlier_hits) / static_cast<double>(a.earlier_lookups);
        if (before - now > 0.10)
            add("hit_ratio_falling", "the hit ratio fell from " + percent(a.earlier_hits, a.earlier_lookups) + " to " +
                                         percent(a.recent_hits, a.recent_lookups) + " in " + last + ": see the causes above.");
    }
    if (a.suggestions.empty() && a.sessions > 0)
        add("none", "nothing to suggest: " + percent(a.recent_hits, a.recent_lookups) + " of the lookups in " + last + " were hits.");
}

}  // namespace

HistoryAnalysis analyze_history(const std::vector<SessionRecord>& sessions, const CacheSurvey& survey) {
    HistoryAnalysis a;
    a.sessions = sessions.size();
    const std::size_t first_recent = sessions.size() > kRecentSessions ? sessions.size() - kRecentSessions : 0;
    std::array<std::uint64_t, kMissReasonCount> all{}, recent{};
    std::map<std::pair<MissReason, std::string>, HistoryAnalysis::Cause> causes;
    std::map<std::string, std::uint64_t> tables;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        const SessionRecord& s = sessions[i];
        const bool is_recent = i >= first_recent;
        for (std::size_t r = 0; r < kMissReasonCount; ++r) {
            all[r] += s.metrics.misses_by_reason[r];
            if (is_recent) recent[r] += s.metrics.misses_by_reason[r];
        }
        if (is_recent) {
            a.recent_lookups += s.metrics.lookups;
            a.recent_hits += s.metrics.hits;
            a.recent_misses += s.metrics.misses;
            for (const detail::MissCause& c : s.causes) {
                if (c.detail.empty()) continue;
                auto& cause = causes[{c.reason, c.detail}];
                cause.reason = c.reason;
                cause.detail = c.detail;
                cause.misses += c.misses;
                ++cause.sessions;
                cause.most_in_one_session = std::max(cause.most_in_one_session, c.misses);
            }
        } else {
            a.earlier_lookups += s.metrics.lookups;
            a.earlier_hits += s.metrics.hits;
        }
        if (!s.missed_tables_omitted && s.metrics.misses > 0) {
            ++a.sessions_naming_tables;
            for (const std::string& t : s.missed_tables) ++tables[t];
        }
    }
    for (std::size_t r = 0; r < kMissReasonCount; ++r)
        if (all[r] != 0) a.reasons.push_back({static_cast<MissReason>(r), all[r], recent[r]});
    std::stable_sort(a.reasons.begin(), a.reasons.end(), [](const auto& x, const auto& y) { return x.misses > y.misses; });
    for (auto& [key, cause] : causes) a.causes.push_back(std::move(cause));
    std::stable_sort(a.causes.begin(), a.causes.end(), [](const auto& x, const auto& y) { return x.misses > y.misses; });
    if (a.causes.size() > 10) a.causes.resize(10);
    for (const auto& [name, count] : tables) a.tables.push_back({name, count});
    std::stable_sort(a.tables.begin(), a.tables.end(), [](const auto& x, const auto& y) { return x.sessions > y.sessions; });
    if (a.tables.size() > 10) a.tables.resize(10);
    suggest(a, survey);
    return a;
}

void print_history(std::ostream& out, const std::vector<SessionRecord>& sessions, const HistoryAnalysis& a, std::size_t rows) {
    if (sessions.empty()) {
        out << "no build sessions recorded yet (history.jsonl: every build session appends one line when it ends)\n";
        return;
    }
    out << "sessions:  " << sessions.size() << " recorded (the newest " << std::min(rows, sessions.size()) << " below, oldest first)\n";
    out << "  ended                 lookups   hits     misses  hit ratio  wall      top reason\n";
    for (std::size_t i = sessions.size() - std::min(rows, sessions.size()); i < sessions.size(); ++i) {
        const SessionRecord& s = sessions[i];
        std::size_t top = kMissReasonCount;
        for (std::size_t r = 0; r < kMissReasonCount; ++r)
            if (s.metrics.misses_by_reason[r] != 0 && (top == kMissReasonCount || s.metrics.misses_by_reason[r] > s.metrics.misses_by_reason[top]))
                top = r;
        char line[200];
        std::snprintf(line, sizeof line, "  %-20s  %7llu  %7llu  %7llu  %9s  %-8s  %s\n", utc_time(s.ended_ns).c_str(),
                      static_cast<unsigned long long>(s.metrics.lookups), static_cast<unsigned long long>(s.metrics.hits),
                      static_cast<unsigned long long>(s.metrics.misses), format_percent(s.metrics.hits, s.metrics.lookups).c_str(),
                      format_duration_ns(s.ended_ns > s.started_ns ? s.ended_ns - s.started_ns : 0).c_str(),
                      top == kMissReasonCount ? "-" : std::string(to_string(static_cast<MissReason>(top))).c_str());
        out << line;
    }
    const std::size_t window = std::min(a.sessions, kRecentSessions);
    out << "hit ratio: " << format_percent(a.recent_hits, a.recent_lookups) << " in the last " << window
        << (window == 1 ? " session" : " sessions");
    if (a.earlier_lookups > 0) out << ", " << format_percent(a.earlier_hits, a.earlier_lookups) << " in the " << a.sessions - window << " before";
    out << "\n";
    out << "misses by reason (all " << a.sessions << " sessions; the last " << window << " in brackets):\n";
    if (a.reasons.empty()) out << "  none\n";
    for (const auto& r : a.reasons) out << "  " << to_string(r.reason) << ": " << r.misses << " (" << r.recent_misses << ")\n";
    out << "what changed (the last " << window << " sessions):\n";
    if (a.causes.empty()) out << "  nothing recorded\n";
    for (const auto& c : a.causes)
        out << "  " << cause_text(c) << ": " << c.misses << " misses in " << c.sessions << (c.sessions == 1 ? " session" : " sessions")
            << ", up to " << c.most_in_one_session << " at once\n";
    out << "tables that missed most (in " << a.sessions_naming_tables
        << " sessions that named their misses; sessions with more than " << detail::kMaxMissedTablesPerSession << " do not):\n";
    if (a.tables.empty()) out << "  none\n";
    for (const auto& t : a.tables) out << "  " << t.name << ": " << t.sessions << (t.sessions == 1 ? " session\n" : " sessions\n");
    out << "suggestions:\n";
    for (const auto& s : a.suggestions) out << "  - " << s.text << "\n";
}

json history_json(const std::vector<SessionRecord>& sessions, const HistoryAnalysis& a) {
    json list = json::array();
    for (const SessionRecord& s : sessions) {
        json j = detail::session_record_json(s);
        j.erase("schema_version");  // the document has one
        list.push_back(std::move(j));
    }
    json reasons = json::array();
    for (const auto& r : a.reasons) reasons.push_back({{"reason", json_name(r.reason)}, {"misses", r.misses}, {"recent_misses", r.recent_misses}});
    json causes = json::array();
    for (const auto& c : a.causes)
        causes.push_back({{"reason", json_name(c.reason)}, {"detail", c.detail}, {"misses", c.misses}, {"sessions", c.sessions},
                          {"most_in_one_session", c.most_in_one_session}});
    json tables = json::array();
    for (const auto& t : a.tables) tables.push_back({{"name", t.name}, {"sessions", t.sessions}});
    json suggestions = json::array();
    for (const auto& s : a.suggestions) suggestions.push_back({{"id", s.id}, {"text", s.text}});
    return {{"sessions", list},
            {"recent_sessions", std::min(a.sessions, kRecentSessions)},
            {"recent_hit_ratio", a.recent_lookups ? double(a.recent_hits) / double(a.recent_lookups) : 0.0},
            {"earlier_hit_ratio", a.earlier_lookups ? json(double(a.earlier_hits) / double(a.earlier_lookups)) : json(nullptr)},
            {"misses_by_reason", reasons},
            {"causes", causes},
            {"top_missed_tables", tables},
            {"sessions_naming_tables", a.sessions_naming_tables},
            {"suggestions", suggestions}};
}

}  // namespace jdc::tools
