#include "jdc/version.hpp"

#ifndef JDC_VERSION_STRING
#error "JDC_VERSION_STRING must be defined by the build (meson.build passes the project version)"
#endif

namespace jdc {

std::string_view library_version() noexcept { return JDC_VERSION_STRING; }

}  // namespace jdc
