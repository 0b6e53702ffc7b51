// janusc — compiler diagnostics: `file:line:col: error: message` and
// `file:line:col: warning: message`.
//
// Lines and columns are 1-based; a column counts bytes (a tab is one column), which
// is what editors that jump to `file:line:col` expect of ASCII sources.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace janusc {

struct SourcePos {
    std::uint32_t line = 0;
    std::uint32_t column = 0;

    bool operator==(const SourcePos&) const = default;
    auto operator<=>(const SourcePos&) const = default;
};

// Errors stop the build; warnings (what call-site resolution finds) do not, unless
// `--Werror` turns them into errors.
enum class Severity : std::uint8_t { error, warning };

struct Diagnostic {
    std::string file;
    SourcePos pos;
    std::string message;
    Severity severity = Severity::error;

    std::string to_string() const {
        return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) +
               (severity == Severity::warning ? ": warning: " : ": error: ") + message;
    }
};

using Diagnostics = std::vector<Diagnostic>;

// A file stops reporting after this many errors: the rest are usually consequences.
inline constexpr std::size_t kMaxErrorsPerFile = 20;
// A file shows at most this many warnings (the first by position), and a build at most
// kMaxWarningsShown (the first by file and position); the build report still counts
// them all. A project-wide warning pattern would otherwise bury the rest.
inline constexpr std::size_t kMaxWarningsPerFile = 20;
inline constexpr std::size_t kMaxWarningsShown = 200;

}  // namespace janusc
