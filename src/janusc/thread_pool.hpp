// janusc — runs independent jobs on a few threads (`--jobs N`).
//
// Threads take the next job index from a shared counter, so a slow job (a large
// dispatch table) does not hold up a fixed share of the others. `run(i)` is called
// exactly once for each i in [0, count), from some thread; it must not throw.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace janusc {

template <class Job>
void parallel_for(std::size_t count, unsigned jobs, const Job& run) {
    const std::size_t threads = std::min<std::size_t>(std::max(1u, jobs), count);
    if (threads <= 1) {
        for (std::size_t i = 0; i < count; ++i) run(i);
        return;
    }
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
        for (std::size_t i = next++; i < count; i = next++) run(i);
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (std::thread& t : pool) t.join();
}

}  // namespace janusc
