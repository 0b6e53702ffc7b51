#include "cache/inputs_log.hpp"

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jdc/detail/atomic_file.hpp"
#include "storage/store_lock.hpp"
#include "util/hash_stream.hpp"
#include "util/hex.hpp"
#include "util/regular_file.hpp"
#include "util/unique_fd.hpp"

namespace jdc::detail {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr std::size_t kHashDigits = 16;
constexpr std::uint64_t kCompactAbove = 1 << 20;  // bytes
// Far more than any project's log (compaction keeps one line per table name); a
// larger file is not read, like a missing one.
constexpr std::uint64_t kMaxLogBytes = 1ull << 30;

}  // namespace

std::string InputsLog::name_hash(std::string_view name) {
    HashStream h;
    h.str(name);
    return hex64(h.digest());
}

Result<void> InputsLog::append(const fs::path& cache_directory, std::string_view lines) {
    if (lines.empty()) return {};
    auto lock = StoreLock::for_file(cache_directory / "inputs.lock");
    if (!lock) return tl::unexpected(lock.error());
    ScopedStoreLock held(**lock);
    if (!held.owns()) return make_error(ErrorCode::io, "cannot lock '" + (cache_directory / "inputs.lock").string() + "': " + held.failure());
    const fs::path file = path_in(cache_directory);
    // Like every cache file: a FIFO or link at inputs.jdcl is refused, not waited on.
    auto fd = open_regular_file(file, O_RDWR | O_APPEND | O_CREAT);  // read: its last byte
    if (!fd) return make_error(ErrorCode::io, fd.error().message);
    // Whole lines, appended under the lock: two writers' records never interleave. A
    // writer that died midway, or whose disk filled up, left a last line without its
    // newline; the next record would be glued to it and both lost. So a tail that is
    // not a newline gets one first, in the same write: the torn line stays alone (and
    // is skipped), the new records are whole.
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) return make_error(ErrorCode::io, "cannot stat '" + file.string() + "': " + std::strerror(errno));
    char last = '\n';
    if (st.st_size > 0 && ::pread(fd->get(), &last, 1, st.st_size - 1) != 1)
        return make_error(ErrorCode::io, "cannot read '" + file.string() + "': " + std::strerror(errno));
    std::string repaired;
    if (last != '\n') {
        repaired.reserve(lines.size() + 1);
        repaired.push_back('\n');
        repaired.append(lines);
        lines = repaired;
    }
    if (const int err = write_all(fd->get(), std::as_bytes(std::span<const char>(lines.data(), lines.size()))); err != 0)
        return make_error(ErrorCode::io, "cannot write '" + file.string() + "': " + std::strerror(err));
    return {};
}

InputsLog InputsLog::load(const fs::path& cache_directory) {
    InputsLog log;
    const fs::path file = path_in(cache_directory);
    {
        // Like every cache file: a FIFO or link at inputs.jdcl reads as an empty log.
        auto text = read_regular_file(file, kMaxLogBytes);
        if (!text) return log;
        log.text_ = std::move(*text);
    }
    std::size_t lines = 0;
    std::string_view rest(log.text_);
    while (!rest.empty()) {
        const std::size_t end = rest.find('\n');
        if (end == std::string_view::npos) break;  // a last line without its newline: cut short
        const std::string_view line = rest.substr(0, end);
        rest.remove_prefix(end + 1);
        // A record is a JSON object: a line not ending in '}' was cut short (and given
        // its newline by the next append), and must not hide an earlier whole record.
        if (line.size() <= kHashDigits + 1 || line[kHashDigits] != ' ' || !is_lower_hex(line.substr(0, kHashDigits)) || line.back() != '}')
            continue;
        ++lines;
        const std::string hash(line.substr(0, kHashDigits));
        auto [it, added] = log.latest_.insert_or_assign(hash, line.substr(kHashDigits + 1));
        if (added) log.order_.push_back(it->first);
    }
    if (log.text_.size() > kCompactAbove && lines > 2 * log.latest_.size()) {
        // Rewrite under the writers' lock; if it cannot be taken now, next time.
        if (auto lock = StoreLock::for_file(cache_directory / "inputs.lock")) {
            ScopedStoreLock held(**lock, ScopedStoreLock::Mode::try_only);
            if (held.owns()) {
                // Domain records live as long as a table record names their digest:
                // found by text ("digest":"<16 hex>"), no record is parsed here.
                constexpr std::string_view kDigest = "\"digest\":\"";
                constexpr std::string_view kDomain = "{\"name\":\"domain:";
                std::unordered_set<std::string_view> referenced;
                for (const auto& [hash, json_text] : log.latest_) {
                    for (std::size_t at = json_text.find(kDigest); at != std::string_view::npos; at = json_text.find(kDigest, at + 1))
                        referenced.insert(json_text.substr(at + kDigest.size(), 16));
                }
                std::string compact;
                compact.reserve(log.text_.size() / 2);
                for (std::string_view hash : log.order_) {
                    const std::string_view json_text = log.latest_.at(std::string(hash));
                    if (json_text.substr(0, kDomain.size()) == kDomain && !referenced.count(json_text.substr(kDomain.size(), 16))) continue;
                    compact.append(hash);
                    compact.push_back(' ');
                    compact.append(log.latest_.at(std::string(hash)));
                    compact.push_back('\n');
                }
                (void)write_file_atomically(file, std::as_bytes(std::span<const char>(compact.data(), compact.size())));
            }
        }
    }
    return log;
}

std::optional<json> InputsLog::find(std::string_view name) const {
    const auto it = latest_.find(name_hash(name));
    if (it == latest_.end()) return std::nullopt;
    try {
        json j = json::parse(it->second);
        if (!j.is_object() || j.value("name", "") != name) return std::nullopt;
        return j;
    } catch (const json::exception&) {
        return std::nullopt;
    }
}

std::vector<json> InputsLog::all() const {
    std::vector<json> out;
    out.reserve(order_.size());
    for (std::string_view hash : order_) {
        try {
            json j = json::parse(latest_.at(std::string(hash)));
            if (j.is_object()) out.push_back(std::move(j));
        } catch (const json::exception&) {
        }
    }
    return out;
}

}  // namespace jdc::detail
