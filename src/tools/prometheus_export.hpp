// `jdc stats --format prometheus`: the cache's numbers in Prometheus' text exposition
// format (version 0.0.4), for a node_exporter textfile collector or a scrape script.
//
// Every sample carries the label cache="<directory>", so that several caches can be
// exported side by side. Metric names start with jdc_; counters end in _total, times
// are in seconds and sizes in bytes, as Prometheus' naming rules ask. Counters reset
// to zero with `jdc stats --zero` and `jdc clear` of the index counters, which
// Prometheus' rate() handles as a restart.
#pragma once

#include <string>
#include <vector>

#include "cache/session_metrics.hpp"
#include "tools/cache_survey.hpp"

namespace jdc::tools {

std::string prometheus_text(const CacheSurvey& survey, const std::vector<detail::SessionRecord>& history);

}  // namespace jdc::tools
