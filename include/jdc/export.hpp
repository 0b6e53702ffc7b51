// jdc — JDC_API marks what the shared library exports: the public API of
// include/jdc/*.hpp, the functions and classes a compiler or tool author calls.
//
// All layers. The library is built with hidden visibility (meson.build), so anything
// not marked, internals and the instantiations of third-party templates among them,
// stays inside libjdc.so: the dynamic symbol table is the API, smaller and faster to
// load, and internals can change without breaking programs linked against it.
// jdc::detail (storage internals installed under jdc/detail/) is not marked. The same
// attribute serves building and using the library (GCC and Clang on ELF platforms,
// the ones jdc supports); in the static library it changes nothing.
#pragma once

#define JDC_API __attribute__((visibility("default")))
