// Internal: a one-line progress bar on stderr for the programs (jdc, janusc), not the
// library. Header-only, so that it is compiled into the tools and never into libjdc.
//
// Drawn only when stderr is a terminal, at most ten times a second; finish() (or the
// destructor) clears the line, so that what a program prints next, on stdout or
// stderr, never shares a line with it. Results must be printed after finish().
// update() may be called from many threads: a caller that finds another drawing
// skips its update rather than waiting.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include <unistd.h>

namespace jdc::detail {

class ProgressBar {
public:
    explicit ProgressBar(std::string label) : label_(std::move(label)), enabled_(::isatty(STDERR_FILENO) == 1) {}
    ~ProgressBar() { finish(); }
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    // Another phase of the same work: the bar goes on with the new label.
    void relabel(std::string label) {
        std::lock_guard<std::mutex> guard(mutex_);
        label_ = std::move(label);
        last_ = {};
    }

    // `total` 0: work without a count; the label is shown alone.
    void update(std::uint64_t done, std::uint64_t total) {
        if (!enabled_) return;
        std::unique_lock<std::mutex> guard(mutex_, std::try_to_lock);
        if (!guard.owns_lock() || finished_) return;
        if (total == 0) {
            std::fprintf(stderr, "\r\033[K%s ...", label_.c_str());
            std::fflush(stderr);
            drawn_ = true;
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (drawn_ && done < total && now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        drawn_ = true;
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(kWidth * std::min(done, total) / total);
        std::fprintf(stderr, "\r\033[K%s [%.*s%*s] %llu/%llu", label_.c_str(), filled, "##############################", kWidth - filled, "",
                     static_cast<unsigned long long>(std::min(done, total)), static_cast<unsigned long long>(total));
        std::fflush(stderr);
    }

    // Clears the line; later updates draw nothing.
    void finish() {
        std::lock_guard<std::mutex> guard(mutex_);
        if (drawn_ && !finished_) {
            std::fprintf(stderr, "\r\033[K");
            std::fflush(stderr);
        }
        finished_ = true;
    }

private:
    std::mutex mutex_;
    std::string label_;
    bool enabled_;
    bool drawn_ = false;
    bool finished_ = false;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace jdc::detail
