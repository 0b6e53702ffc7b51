// `jdc config`: every setting of the cache, its value and where it comes from.
// `jdc init`: makes a directory a cache, with a jdc.conf listing every setting.
#pragma once

#include <string>

namespace jdc::tools {

int run_config(const std::string& dir_option, bool as_json);
// `force`: also a directory that is not empty and not yet a cache.
int run_init(const std::string& dir_option, bool force, bool as_json);

}  // namespace jdc::tools
