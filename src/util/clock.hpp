// Internal: the library's two clocks, as nanoseconds in a std::uint64_t.
//
// Which one to use is a question of what the number is compared with:
//  - steady_ns() for durations measured within one process (metrics, the time a
//    lock was held, progress). It never jumps when the system time is set.
//  - wall_clock_ns() for times that are stored and compared across processes and
//    machines (an entry's creation and last access, a pack's creation, records,
//    the last cleanup): Unix time, the only clock they share.
#pragma once

#include <chrono>
#include <cstdint>

namespace jdc::detail {

inline std::uint64_t steady_ns() noexcept {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count());
}

inline std::uint64_t wall_clock_ns() noexcept {
    using namespace std::chrono;
    return static_cast<std::uint64_t>(duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace jdc::detail
