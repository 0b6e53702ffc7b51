// jdc (internal) — the cache layer's event log: one line per notable event (a hit, a
// miss and its reason, a flush, the remote switched off, ...), for a sink the caller
// chooses (BuildCacheManager::create).
//
// Cache layer. Lines are built only when there is a sink: building the message of a
// hit costs more than a small hit itself, so code asks on() before formatting one.
// Lines reach the sink as JANUS_CACHE_VERBOSE prints them, without the newline: the
// cache layer's own lines start with "jdc-cache: ", the store's keep their own prefix.
#pragma once

#include <functional>
#include <string>
#include <utility>

namespace jdc::detail {

class CacheLog {
public:
    using Sink = std::function<void(const std::string& line)>;

    explicit CacheLog(Sink sink = {}) : sink_(std::move(sink)) {}

    bool on() const noexcept { return static_cast<bool>(sink_); }
    // A line of the cache layer.
    void operator()(const std::string& line) const {
        if (sink_) sink_("jdc-cache: " + line);
    }
    // The sink itself, for the store, whose lines carry their own prefix.
    const Sink& sink() const noexcept { return sink_; }

private:
    Sink sink_;
};

}  // namespace jdc::detail
