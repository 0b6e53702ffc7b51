// Internal: the one way jdc turns a JSON object into text.
//
// nlohmann::json throws type_error 316 when a string it dumps is not UTF-8, and jdc's
// JSON holds paths, which are bytes (utf8.hpp). Every document jdc writes (build
// reports, stats.json, `jdc stats --json`, janusc's --report-json) is dumped here,
// with what is not UTF-8 replaced by U+FFFD, so no path can make a dump throw.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace jdc::detail {

// `indent` as json::dump's: -1 for one line.
inline std::string dump_json(const nlohmann::json& j, int indent = -1) {
    return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace jdc::detail
