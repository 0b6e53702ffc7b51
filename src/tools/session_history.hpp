// `jdc stats --history`: the build sessions recorded in the cache directory
// (history.jsonl, metrics_report.hpp), read as a trend of hit ratios, the reasons and
// causes of misses, the tables that miss most, and suggestions reasoned from them.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cache/session_metrics.hpp"
#include "tools/cache_survey.hpp"

namespace jdc::tools {

// Suggestions look at this many of the newest sessions.
inline constexpr std::size_t kRecentSessions = 10;

struct HistoryAnalysis {
    std::size_t sessions = 0;
    // Hit ratio of the newest kRecentSessions sessions together, and of the ones before.
    std::uint64_t recent_lookups = 0, recent_hits = 0, recent_misses = 0;
    std::uint64_t earlier_lookups = 0, earlier_hits = 0;
    struct Reason {
        MissReason reason;
        std::uint64_t misses = 0;         // in every session of the history
        std::uint64_t recent_misses = 0;  // in the newest kRecentSessions
    };
    std::vector<Reason> reasons;  // most misses first, reasons with none left out
    struct Cause {
        MissReason reason;
        std::string detail;
        std::uint64_t misses = 0;               // in the newest kRecentSessions
        std::uint64_t sessions = 0;             // how many of them had it
        std::uint64_t most_in_one_session = 0;  // the tables one such change rebuilt
    };
    std::vector<Cause> causes;  // recent, with a detail, most misses first; at most 10
    struct Table {
        std::string name;
        std::uint64_t sessions = 0;  // sessions in which it missed
    };
    std::vector<Table> tables;           // most sessions first; at most 10
    std::uint64_t sessions_naming_tables = 0;  // sessions whose missed tables were recorded
    struct Suggestion {
        std::string id;    // stable, snake_case: what kind of advice
        std::string text;  // one paragraph, with the numbers it reasons from
    };
    std::vector<Suggestion> suggestions;
};

HistoryAnalysis analyze_history(const std::vector<detail::SessionRecord>& sessions, const CacheSurvey& survey);

// The trend (the newest `rows` sessions, one line each), the reasons, causes, tables
// and suggestions.
void print_history(std::ostream& out, const std::vector<detail::SessionRecord>& sessions, const HistoryAnalysis& analysis,
                   std::size_t rows);
nlohmann::json history_json(const std::vector<detail::SessionRecord>& sessions, const HistoryAnalysis& analysis);

}  // namespace jdc::tools
