// Test support: another process holding a lock file (fcntl locks are per process, so
// "someone else holds it" needs a process of its own).
#pragma once

#include <filesystem>
#include <stdexcept>

#include <sys/wait.h>
#include <unistd.h>

#include "storage/store_lock.hpp"

namespace jdc::testing {

class LockHeldElsewhere {
public:
    // Returns once a child process holds `lock_file`; it keeps it until release().
    explicit LockHeldElsewhere(const std::filesystem::path& lock_file) {
        if (::pipe(ready_) != 0 || ::pipe(release_) != 0) throw std::runtime_error("pipe failed");
        child_ = ::fork();
        if (child_ < 0) throw std::runtime_error("fork failed");
        if (child_ == 0) {
            auto lock = StoreLock::for_file(lock_file);
            if (!lock) ::_exit(1);
            ScopedStoreLock held(**lock);
            char c = 1;
            (void)!::write(ready_[1], &c, 1);
            (void)!::read(release_[0], &c, 1);
            ::_exit(0);
        }
        char c = 0;
        if (::read(ready_[0], &c, 1) != 1) throw std::runtime_error("the lock holder died");
    }
    void release() {
        if (child_ <= 0) return;
        char c = 0;
        (void)!::write(release_[1], &c, 1);
        ::waitpid(child_, nullptr, 0);
        child_ = 0;
    }
    ~LockHeldElsewhere() {
        release();
        for (int fd : {ready_[0], ready_[1], release_[0], release_[1]}) ::close(fd);
    }
    LockHeldElsewhere(const LockHeldElsewhere&) = delete;
    LockHeldElsewhere& operator=(const LockHeldElsewhere&) = delete;

private:
    int ready_[2] = {-1, -1}, release_[2] = {-1, -1};
    pid_t child_ = 0;
};

}  // namespace jdc::testing
