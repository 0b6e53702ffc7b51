# Cap'n Proto peer of the jdc arena (format v1): the same fields as
# dispatch_table.fbs, written the way a Cap'n Proto user would write them. Used only
# by the benchmarks (bench/peers/capnp_peer.cpp). `capnp compile` generates the C++
# at build time (bench/meson.build); generated code is never committed.
#
# Type references are indexes into `types` (the table-local type list, in order of
# first mention, exactly as in the jdc arena); 0xFFFFFFFF means "no type" (return
# types only). Cap'n Proto has no required fields and no shared strings: every entry
# carries its own copy of its module and file names.
@0x80c0e52db46ca556;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("jdc::bench::capnp_schema");

enum TypeKind {
  primitive @0;
  structType @1;
  enumType @2;
  function @3;
  genericParam @4;
  genericInstance @5;
}

struct Type {
  name @0 :Text;
  structuralHash @1 :UInt64;
  kind @2 :TypeKind;
  idHint @3 :UInt32;   # the writer's TypeId: the fixup tries it before the hash lookup
}

struct Entry {
  functionId @0 :UInt32;
  name @1 :Text;
  module @2 :Text;
  file @3 :Text;
  line @4 :UInt32;
  column @5 :UInt32;
  effects @6 :UInt32;
  specificity @7 :UInt32;
  callFrequency @8 :UInt64;
  returnType @9 :UInt32 = 0xFFFFFFFF;   # local type index, or 0xFFFFFFFF for none
  paramTypes @10 :List(UInt32);         # local type indexes, `arity` of them
}

struct DispatchTable {
  signatureName @0 :Text;
  arity @1 :UInt32;
  declaredParams @2 :List(UInt32);      # local type indexes, `arity` of them
  declaredReturn @3 :UInt32 = 0xFFFFFFFF;
  types @4 :List(Type);
  entries @5 :List(Entry);
}
