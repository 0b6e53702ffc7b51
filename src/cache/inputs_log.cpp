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
#include "util/forward_error.hpp"
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

Result<void> InputsLog::append(const fs::path& cache_directory, std::span<const std::string_view> pieces) {
    std::vector<std::string_view> lines;
    lines.reserve(pieces.size() + 1);
    for (std::string_view p : pieces)
        if (!p.empty()) lines.push_back(p);
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
    if (last != '\n') lines.insert(lines.begin(), "\n");
    if (const int err = write_all(fd->get(), std::span<const std::string_view>(lines)); err != 0)
        return make_error(ErrorCode::io, "cannot write '" + file.string() + "': " + std::strerror(err));
    return {};
}

namespace {

constexpr std::string_view kDigest = "\"digest\":\"";
constexpr std::string_view kDomain = "{\"name\":\"domain:";
constexpr std::string_view kKey = "\"key\":\"";

bool is_domain_record(std::string_view json_text) { return json_text.substr(0, kDomain.size()) == kDomain; }

// The lines of `kept` (name hashes, in order) and of the domain records they refer to
// (found by text, "digest":"<16 hex>"; no record is parsed).
std::string lines_of(const std::vector<std::string_view>& kept, const std::unordered_map<std::string, std::string_view>& latest,
                     std::size_t reserve) {
    std::unordered_set<std::string_view> referenced;
    for (std::string_view hash : kept) {
        const std::string_view json_text = latest.at(std::string(hash));
        for (std::size_t at = json_text.find(kDigest); at != std::string_view::npos; at = json_text.find(kDigest, at + 1))
            referenced.insert(json_text.substr(at + kDigest.size(), 16));
    }
    std::string out;
    out.reserve(reserve);
    for (std::string_view hash : kept) {
        const std::string_view json_text = latest.at(std::string(hash));
        if (is_domain_record(json_text) && !referenced.count(json_text.substr(kDomain.size(), 16))) continue;
        out.append(hash);
        out.push_back(' ');
        out.append(json_text);
        out.push_back('\n');
    }
    return out;
}

}  // namespace

InputsLog InputsLog::parse(std::string text) {
    InputsLog log;
    log.text_ = std::move(text);
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
        ++log.lines_;
        const std::string hash(line.substr(0, kHashDigits));
        auto [it, added] = log.latest_.insert_or_assign(hash, line.substr(kHashDigits + 1));
        if (added) log.order_.push_back(it->first);
    }
    return log;
}

InputsLog InputsLog::load(const fs::path& cache_directory) {
    const fs::path file = path_in(cache_directory);
    // Like every cache file: a FIFO or link at inputs.jdcl reads as an empty log.
    auto text = read_regular_file(file, kMaxLogBytes);
    if (!text) return InputsLog{};
    InputsLog log = parse(std::move(*text));
    if (log.text_.size() > kCompactAbove && log.lines_ > 2 * log.latest_.size()) {
        // Rewrite under the writers' lock; if it cannot be taken now, next time.
        if (auto lock = StoreLock::for_file(cache_directory / "inputs.lock")) {
            ScopedStoreLock held(**lock, ScopedStoreLock::Mode::try_only);
            if (held.owns()) {
                const std::string compact = lines_of(log.order_, log.latest_, log.text_.size() / 2);
                (void)write_file_atomically(file, std::as_bytes(std::span<const char>(compact.data(), compact.size())));
            }
        }
    }
    return log;
}

Result<bool> InputsLog::trim(const fs::path& cache_directory, std::uint64_t max_bytes, const std::function<bool(std::string_view)>& live) {
    const fs::path file = path_in(cache_directory);
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || static_cast<std::uint64_t>(st.st_size) <= max_bytes) return false;
    auto lock = StoreLock::for_file(cache_directory / "inputs.lock");
    if (!lock) return tl::unexpected(lock.error());
    ScopedStoreLock held(**lock, ScopedStoreLock::Mode::try_only);
    if (!held.owns()) return false;  // another session is appending or trimming: next time
    auto text = read_regular_file(file, kMaxLogBytes);
    if (!text) return false;
    const InputsLog log = parse(std::move(*text));
    // Table records of entries still in the cache, oldest name first; domain records
    // follow the table records that name them.
    std::vector<std::string_view> kept;
    std::vector<std::size_t> line_bytes;  // of each kept table record
    for (std::string_view hash : log.order_) {
        const std::string_view json_text = log.latest_.at(std::string(hash));
        if (!is_domain_record(json_text)) {
            const std::size_t at = json_text.find(kKey);
            if (at == std::string_view::npos || !live(json_text.substr(at + kKey.size(), 32))) continue;
        }
        kept.push_back(hash);
        line_bytes.push_back(kHashDigits + 2 + json_text.size());
    }
    std::uint64_t total = 0;
    for (std::size_t n : line_bytes) total += n;
    std::size_t first = 0;  // still over: the oldest names go
    while (first < kept.size() && total > max_bytes) total -= line_bytes[first++];
    kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(first));
    const std::string trimmed = lines_of(kept, log.latest_, static_cast<std::size_t>(std::min<std::uint64_t>(total, max_bytes)));
    JDC_FORWARD_IF_ERROR(write_file_atomically(file, std::as_bytes(std::span<const char>(trimmed.data(), trimmed.size()))));
    return true;
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
