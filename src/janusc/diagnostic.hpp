// janusc — compiler diagnostics: `file:line:col: error: message`.
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

struct Diagnostic {
    std::string file;
    SourcePos pos;
    std::string message;

    std::string to_string() const {
        return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": error: " + message;
    }
};

using Diagnostics = std::vector<Diagnostic>;

// A file stops reporting after this many errors: the rest are usually consequences.
inline constexpr std::size_t kMaxErrorsPerFile = 20;

}  // namespace janusc
