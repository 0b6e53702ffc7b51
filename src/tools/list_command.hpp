// `jdc ls`: the entries of a cache, one line each: the table's name (from its arena's
// signature), methods, size, age, last read, form (scan or compressed dispatch table),
// where it is stored (loose file or pack) and key.
#pragma once

#include <string>

namespace jdc::tools {

// `sort`: name (default), size, age (newest first) or read (most recently read first).
// Exit 1 when an entry cannot be read (listed with its error), else 0.
int run_ls(const std::string& dir_option, const std::string& sort, bool as_json);

}  // namespace jdc::tools
