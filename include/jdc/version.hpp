// jdc — the version of the library a program runs with.
//
// All layers. The version is meson's project version (semantic versioning: the
// library's soname carries the major version).
#pragma once

#include <string_view>

#include "jdc/export.hpp"

namespace jdc {

// "0.1.0".
JDC_API std::string_view library_version() noexcept;

}  // namespace jdc
