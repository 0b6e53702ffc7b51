// Internal: number formatting shared by the reports of the cache layer, the tools and
// janusc (bytes, percentages, durations), so that every report spells a number alike.
#pragma once

#include <cstdint>
#include <string>

namespace jdc {

// 1536 -> "1.5 KiB"; below 1 KiB: "812 B".
std::string format_bytes(std::uint64_t bytes);
// part/whole as "92.3%"; "n/a" when whole is 0.
std::string format_percent(std::uint64_t part, std::uint64_t whole);
// 1234567 ns -> "1.23 ms"; chooses ns, µs, ms or s.
std::string format_duration_ns(std::uint64_t ns);

}  // namespace jdc
