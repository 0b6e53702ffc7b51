#include "util/report_format.hpp"

#include <cstdio>

namespace jdc {

std::string format_bytes(std::uint64_t bytes) {
    static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) return std::to_string(bytes) + " B";
    double v = static_cast<double>(bytes) / 1024.0;
    int u = 0;
    while (v >= 1024.0 && u < 3) {
        v /= 1024.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
    return buf;
}

std::string format_percent(std::uint64_t part, std::uint64_t whole) {
    if (whole == 0) return "n/a";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
    return buf;
}

std::string format_duration_ns(std::uint64_t ns) {
    char buf[32];
    if (ns < 1'000) std::snprintf(buf, sizeof buf, "%llu ns", static_cast<unsigned long long>(ns));
    else if (ns < 1'000'000) std::snprintf(buf, sizeof buf, "%.1f µs", ns / 1e3);
    else if (ns < 1'000'000'000) std::snprintf(buf, sizeof buf, "%.2f ms", ns / 1e6);
    else std::snprintf(buf, sizeof buf, "%.2f s", ns / 1e9);
    return buf;
}

}  // namespace jdc
