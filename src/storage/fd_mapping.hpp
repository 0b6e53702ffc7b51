// Internal: map a file descriptor we already opened (and fstat'ed) with
// Boost.Interprocess, instead of letting file_mapping open the file again by name.
// One open means no window in which the name could be replaced, unlinked or turned
// into a symlink between our checks and the mapping.
#pragma once

#include <boost/interprocess/detail/os_file_functions.hpp>
#include <boost/interprocess/mapped_region.hpp>

namespace jdc::detail {

// A MemoryMappable (as mapped_region's constructor wants) over a borrowed fd. On
// POSIX mapped_region only calls get_mapping_handle(); the fd may be closed once the
// region exists (the mapping keeps the file).
class FdMappable {
public:
    explicit FdMappable(int fd) noexcept : fd_(fd) {}
    boost::interprocess::mapping_handle_t get_mapping_handle() const noexcept {
        return boost::interprocess::ipcdetail::mapping_handle_from_file_handle(fd_);
    }

private:
    int fd_;
};

}  // namespace jdc::detail
