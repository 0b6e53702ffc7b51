// Internal: passing a callee's error up, in the spirit of zstd's FORWARD_IF_ERROR.
//
//   JDC_FORWARD_IF_ERROR(store.check_directories(dirs));
//
// evaluates the expression (a jdc::Result<T> of any T) once and, when it holds an
// error, returns that error from the enclosing function (whose Result type may differ
// in T). For a statement whose value is not needed afterwards; where the value is
// used, the usual `auto x = f(); if (!x) return tl::unexpected(x.error());` stays, since
// a macro that also declares the variable would hide where it comes from.
#pragma once

#include <utility>

#include "jdc/error.hpp"

#define JDC_FORWARD_IF_ERROR(expr)                                                      \
    do {                                                                                \
        if (auto&& jdc_forwarded_ = (expr); !jdc_forwarded_)                            \
            return ::tl::unexpected<::jdc::Error>(std::move(jdc_forwarded_).error());   \
    } while (0)
