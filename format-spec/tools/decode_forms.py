#!/usr/bin/env python3
"""Independent decoder of the optional sections of jdc arena format 1.1.

Written from format-spec/arena-v1.md alone (§5.6 dispatch_index, §5.7 decision_tree,
§10.3 checks F9-F10, §11 and §11.1 binding, §12 resolution), not from the C++ code,
so that running it against the reference writer's output checks the document.

    decode_forms.py ARENA [--dump] [--registry REG.json | --shapes-registry]
                          [--expect ANSWERS.json]

Without a registry it decodes, checks F9/F10 and (with --dump) prints both
sections. With a registry it binds the arena to it and resolves every tuple of the
registry's types, plus one unregistered id, three ways: by the index, by the tree
and by its own scan (§12); all three must agree on the outcome. --shapes-registry
is the writer's registry of tests/data/v1.1/shapes.jdca; its structural hashes are
computed here (§8.2) with libxxhash's XXH3_64bits. REG.json is a list of
{"id", "name", "hash", "supers"} (or an object with that list under "registry").
--expect compares with a library's answers: {"lookups": [[args, scan, table, tree],
...]}, each answer "n", "m<index>" or "a<first>,<second>".

Exit status: 0 all checks pass, 1 a check failed, 2 usage or I/O error.
"""
import argparse
import ctypes
import ctypes.util
import json
import struct
import sys


class Bad(Exception):
    """A failed check: the arena or an answer is not what the spec says."""


def u8(b, o): return b[o]
def u16(b, o): return struct.unpack_from('<H', b, o)[0]
def u32(b, o): return struct.unpack_from('<I', b, o)[0]
def u64(b, o): return struct.unpack_from('<Q', b, o)[0]
def align8(x): return (x + 7) & ~7


AMBIGUOUS = 0x80000000
NO_OWNER = 0xFFFFFFFF
READER_MINOR = 1  # this decoder implements format 1.1


class Arena:
    """The parts of an arena this decoder needs (§3, §4, §5). Assumes F1-F8 passed."""

    def __init__(self, b):
        self.b = b
        if b[:4] != b'JDCA':
            raise Bad('not an arena')
        self.version_minor = u16(b, 6)
        self.arity = u32(b, 28)
        self.entry_count = u32(b, 32)
        self.optimization_type = b[36]
        self.ratio_ppm = u32(b, 40)
        self.type_count = u32(b, 44)
        self.memory_saved = u64(b, 48)
        count, dir_off = u32(b, 68), u64(b, 72)
        self.sections = {}
        for i in range(count):
            kind, flags, off, size = struct.unpack_from('<IIQQ', b, dir_off + 24 * i)
            if kind in self.sections and kind <= 7:
                raise Bad('F2d: kind %d twice' % kind)
            self.sections.setdefault(kind, (off, size, flags))
        sig = self.sections[3][0]
        self.declared = [u32(b, sig + 16 + 4 * p) for p in range(self.arity)]
        t = self.sections[2][0]
        self.types = []  # (structural_hash, name)
        for i in range(self.type_count):
            h, noff, nlen = struct.unpack_from('<QII', b, t + 24 * i)
            self.types.append((h, b[noff:noff + nlen].decode('utf-8', 'replace')))
        par = self.sections[5][0]
        self.params = [[u32(b, par + 4 * (i * self.arity + p)) for p in range(self.arity)]
                       for i in range(self.entry_count)]


def valid_code(code, entry_count, ambiguity_count):
    """§5.6 result codes."""
    if code & AMBIGUOUS:
        return (code & 0x7FFFFFFF) < ambiguity_count
    return code <= entry_count


class Index:
    """§5.6, checked with F9a-F9o in their order."""

    def __init__(self, a):
        off, size, flags = a.sections[6]
        if flags & 1:
            raise Bad('dispatch_index marked required (writers must clear it, §4)')
        b = a.b
        if size < 40:
            raise Bad('F9a: section shorter than its header')
        (self.arity, self.id_base, self.id_span, self.row_count, self.column_count,
         self.unique_rows, self.cell_count, self.ambiguity_count, self.techniques,
         self.cell_format) = struct.unpack_from('<10I', b, off)
        if self.arity != a.arity:
            raise Bad('F9b: arity')
        if self.cell_format not in (0, 1):
            raise Bad('F9c: cell_format')
        if self.id_span > 1 << 22:
            raise Bad('F9d: id_span over max_types')
        if self.id_base == 0 or self.id_base + self.id_span > 2**32 - 1:
            raise Bad('F9e: span')
        if self.techniques >= 1 << 7 and a.version_minor <= READER_MINOR:
            raise Bad('F9f: techniques')
        k = self.arity
        self.o_th = 40
        self.o_pc = 40 + 8 * self.id_span
        self.o_po = align8(self.o_pc + 4 * k)
        self.o_ro = align8(self.o_po + 2 * k * self.id_span)
        self.o_di = align8(self.o_ro + 4 * self.row_count)
        self.o_ce = align8(self.o_di + 4 * self.unique_rows)
        self.slot = 4 if self.cell_format == 1 else 8
        self.o_am = align8(self.o_ce + self.slot * self.cell_count)
        if size != self.o_am + 8 * self.ambiguity_count:
            raise Bad('F9g: size %d, layout gives %d' % (size, self.o_am + 8 * self.ambiguity_count))
        s = off
        self.type_hash = [u64(b, s + self.o_th + 8 * i) for i in range(self.id_span)]
        self.pole_count, self.pole_of = [], []
        r = 1
        for p in range(k):
            c = u32(b, s + self.o_pc + 4 * p)
            if c == 0 or c > 65535:
                raise Bad('F9h: pole_count[%d] = %d' % (p, c))
            row = [u16(b, s + self.o_po + 2 * (p * self.id_span + i)) for i in range(self.id_span)]
            for i, q in enumerate(row):
                if q == 0 or q > c:
                    raise Bad('F9h: pole_of[%d][%d] = %d' % (p, i, q))
            if p <= k - 2:
                r *= c
            if r > self.row_count:
                raise Bad('F9h: row_count too small')
            if p == k - 1 and c != self.column_count:
                raise Bad('F9h: column_count')
            self.pole_count.append(c)
            self.pole_of.append(row)
        if r != self.row_count:
            raise Bad('F9i: row_count')
        if k == 0 and self.column_count != 1:
            raise Bad('F9j: column_count of arity 0')
        if self.unique_rows == 0 or self.unique_rows > self.row_count:
            raise Bad('F9k: unique_rows')
        self.row_of = [u32(b, s + self.o_ro + 4 * i) for i in range(self.row_count)]
        if any(u >= self.unique_rows for u in self.row_of):
            raise Bad('F9l: row_of')
        self.displacement = [u32(b, s + self.o_di + 4 * i) for i in range(self.unique_rows)]
        if any(d + self.column_count > self.cell_count for d in self.displacement):
            raise Bad('F9m: displacement')
        self.cells = []
        for c in range(self.cell_count):
            if self.cell_format == 1:
                code = u32(b, s + self.o_ce + 4 * c)
                if not valid_code(code, a.entry_count, self.ambiguity_count):
                    raise Bad('F9n: cell %d' % c)
                self.cells.append(code)
            else:
                owner, code = u32(b, s + self.o_ce + 8 * c), u32(b, s + self.o_ce + 8 * c + 4)
                ok = code == 0 if owner == NO_OWNER else (
                    owner < self.unique_rows and valid_code(code, a.entry_count, self.ambiguity_count))
                if not ok:
                    raise Bad('F9n: cell %d' % c)
                self.cells.append((owner, code))
        self.ambiguities = [(u32(b, s + self.o_am + 8 * j), u32(b, s + self.o_am + 8 * j + 4))
                            for j in range(self.ambiguity_count)]
        for j, (f, sec) in enumerate(self.ambiguities):
            if not f < sec < a.entry_count:
                raise Bad('F9o: ambiguity %d' % j)

    def code(self, u, column):
        """Steps 4-5 of the §5.6 lookup, from a unique row on."""
        s = self.displacement[u] + column
        if self.cell_format == 1:
            return self.cells[s]
        owner, code = self.cells[s]
        return code if owner == u else 0

    def lookup(self, writer_ids):
        """§5.6 steps 2-5; None when the scan must answer."""
        qs = []
        for p, w in enumerate(writer_ids):
            if w is None or not 0 <= w - self.id_base < self.id_span:
                return None
            qs.append(self.pole_of[p][w - self.id_base] - 1)
        row, column = 0, 0
        k = self.arity
        for p in range(k - 1):
            row = row * self.pole_count[p] + qs[p]
        if k >= 1:
            column = qs[k - 1]
        return self.code(self.row_of[row], column)


class Tree:
    """§5.7, checked with F10a-F10f."""

    def __init__(self, a, index):
        off, size, flags = a.sections[7]
        if flags & 1:
            raise Bad('decision_tree marked required')
        if index is None:
            raise Bad('F10a: tree without index')
        b = a.b
        if size < 8:
            raise Bad('F10b')
        self.node_count, self.flags = u32(b, off), u32(b, off + 4)
        if self.node_count == 0:
            raise Bad('F10c')
        if size != 8 + 16 * self.node_count:
            raise Bad('F10d')
        if self.flags & ~1 and a.version_minor <= READER_MINOR:
            raise Bad('F10e')
        self.nodes = []
        for i in range(self.node_count):
            kind, pos, reserved, value, below, above = struct.unpack_from('<BBHIII', b, off + 8 + 16 * i)
            if reserved != 0:
                raise Bad('F10f: node %d reserved' % i)
            if kind == 0:
                if pos >= a.arity or below <= i or above <= i or below >= self.node_count or above >= self.node_count:
                    raise Bad('F10f: test node %d' % i)
            elif kind == 1:
                if not valid_code(value, a.entry_count, index.ambiguity_count):
                    raise Bad('F10f: result node %d' % i)
            elif kind != 2:
                raise Bad('F10f: node %d kind %d' % (i, kind))
            self.nodes.append((kind, pos, value, below, above))

    def walk(self, writer_ids):
        """The walk of §5.7; None at a fallback node."""
        i, steps = 0, 0
        while True:
            steps += 1
            assert steps <= self.node_count  # guaranteed by F10f
            kind, pos, value, below, above = self.nodes[i]
            if kind == 1:
                return value
            if kind == 2:
                return None
            w = writer_ids[pos]
            i = below if (0 if w is None else w) < value else above


class Registry:
    """A live type registry: ids, names, structural hashes, direct supertypes."""

    def __init__(self, types):
        self.by_id = {t['id']: t for t in types}
        self.by_hash = {t['hash']: t['id'] for t in types}
        self.ancestors = {}
        for t in sorted(types, key=lambda t: t['id']):
            anc = {t['id']}
            for s in t['supers']:
                anc |= self.ancestors[s]
            self.ancestors[t['id']] = anc

    def le(self, a, b):
        """a ≤ b of §12; false for unregistered types."""
        return a in self.ancestors and b in self.ancestors[a]


def xxh3(data):
    lib = ctypes.CDLL(ctypes.util.find_library('xxhash') or 'libxxhash.so.0')
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib.XXH3_64bits(data, len(data))


def shapes_registry():
    """The writer's registry of the shapes golden (tests/format_golden.cpp), §8.2 hashes."""
    spec = [('i32', 0, []), ('f64', 0, []), ('bool', 0, []), ('string', 0, []),
            ('Object', 1, []), ('Shape', 1, [5]), ('Drawable', 1, [5]), ('Circle', 1, [6]),
            ('Sprite', 1, [6, 7])]
    types = []
    for i, (name, kind, supers) in enumerate(spec, start=1):
        data = struct.pack('<I', len(name)) + name.encode() + bytes([kind]) + struct.pack('<I', len(supers))
        for s in supers:
            data += struct.pack('<Q', types[s - 1]['hash'])
        types.append({'id': i, 'name': name, 'hash': xxh3(data), 'supers': supers})
    return types


class Bound:
    """§11 (local types) and §11.1 (writer ids), then the three ways to resolve."""

    def __init__(self, a, index, tree, reg):
        self.a, self.index, self.tree, self.reg = a, index, tree, reg
        self.live = []
        for h, name in a.types:  # §11 steps 2-4 (the id hint is optional and skipped)
            i = reg.by_hash.get(h)
            if i is None or reg.by_id[i]['name'] != name:
                raise Bad('stale: type %s' % name)
            self.live.append(i)
        self.exact = index is not None and all(
            index.id_base + i in reg.by_id and reg.by_id[index.id_base + i]['hash'] == h
            for i, h in enumerate(index.type_hash))
        self.remap = {}
        if index is not None and not self.exact:
            for i, h in enumerate(index.type_hash):
                if h in reg.by_hash:
                    self.remap[reg.by_hash[h]] = index.id_base + i

    def writer(self, a):
        if a not in self.reg.by_id:
            return None
        return a if self.exact else self.remap.get(a)

    def decode(self, code):
        if code == 0:
            return 'n'
        if code & AMBIGUOUS:
            f, s = self.index.ambiguities[code & 0x7FFFFFFF]
            return 'a%d,%d' % (f, s)
        return 'm%d' % (code - 1)

    def scan(self, args):
        """§12, the textbook definition (the ambiguous pair is any two contenders)."""
        a, reg = self.a, self.reg
        if len(args) != a.arity:
            return 'n'
        P = [[self.live[t] for t in row] for row in a.params]
        app = [i for i in range(a.entry_count) if all(reg.le(args[p], P[i][p]) for p in range(a.arity))]
        if not app:
            return 'n'
        le = lambda i, j: all(reg.le(P[i][p], P[j][p]) for p in range(a.arity))
        for m in app:
            if all(le(m, j) and not le(j, m) for j in app if j != m):
                return 'm%d' % m
        return 'a%d,%d' % (app[0], app[1])  # not normative

    def table(self, args):
        """Returns (answer, answered_by_index)."""
        code = self.index.lookup([self.writer(x) for x in args])
        return (self.scan(args), False) if code is None else (self.decode(code), True)

    def walk(self, args):
        code = self.tree.walk([self.writer(x) for x in args])
        return (self.scan(args), False) if code is None else (self.decode(code), True)


def same_outcome(x, y):
    return x[0] == y[0] and (x[0] != 'm' or x == y)


def dump(a, index, tree):
    print('version 1.%d, optimization_type %d, ratio_ppm %d, memory_saved %d' % (
        a.version_minor, a.optimization_type, a.ratio_ppm, a.memory_saved))
    if index is None:
        print('no dispatch_index')
        return
    off, size, _ = a.sections[6]
    print('dispatch_index at %d, %d bytes: arity %d, span [%d, %d), rows %d, columns %d, unique %d, '
          'cells %d (format %d), ambiguities %d, techniques %#x' % (
              off, size, index.arity, index.id_base, index.id_base + index.id_span, index.row_count,
              index.column_count, index.unique_rows, index.cell_count, index.cell_format,
              index.ambiguity_count, index.techniques))
    print('  offsets: th %d pc %d po %d ro %d di %d ce %d am %d' % (
        index.o_th, index.o_pc, index.o_po, index.o_ro, index.o_di, index.o_ce, index.o_am))
    print('  type_hash', ['%#018x' % h for h in index.type_hash])
    print('  pole_count', index.pole_count)
    for p, row in enumerate(index.pole_of):
        print('  pole_of[%d]' % p, row)
    print('  row_of', index.row_of)
    print('  displacement', index.displacement)
    print('  cells', ['%#x' % c if isinstance(c, int) else '(%s,%#x)' % (
        '-' if c[0] == NO_OWNER else c[0], c[1]) for c in index.cells])
    print('  ambiguities', index.ambiguities)
    print('  matrix (row: codes by column):')
    for r in range(index.row_count):
        print('   ', r, ['%#x' % index.code(index.row_of[r], c) for c in range(index.column_count)])
    if tree is None:
        print('no decision_tree')
        return
    off, size, _ = a.sections[7]
    print('decision_tree at %d, %d bytes: %d nodes, flags %#x' % (off, size, tree.node_count, tree.flags))
    for i, (kind, pos, value, below, above) in enumerate(tree.nodes):
        what = {0: 'test arg %d < %d ? %d : %d' % (pos, value, below, above),
                1: 'result %#x' % value, 2: 'fallback'}[kind]
        print('  %3d  %s' % (i, what))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('arena')
    ap.add_argument('--dump', action='store_true')
    ap.add_argument('--registry')
    ap.add_argument('--shapes-registry', action='store_true')
    ap.add_argument('--expect')
    args = ap.parse_args()
    try:
        data = open(args.arena, 'rb').read()
        reg_types = None
        if args.registry:
            j = json.load(open(args.registry))
            reg_types = j['registry'] if isinstance(j, dict) else j
        elif args.shapes_registry:
            reg_types = shapes_registry()
        expect = json.load(open(args.expect))['lookups'] if args.expect else None
    except (OSError, ValueError) as e:
        print('decode_forms: %s' % e, file=sys.stderr)
        return 2
    try:
        a = Arena(data)
        index = Index(a) if 6 in a.sections else None
        tree = Tree(a, index) if 7 in a.sections else None
        if args.dump:
            dump(a, index, tree)
        if reg_types is None:
            print('%s: sections check out (F9, F10)' % args.arena)
            return 0
        reg = Registry(reg_types)
        bound = Bound(a, index, tree, reg)
        ids = sorted(reg.by_id) + [max(reg.by_id) + 1]
        tuples = [[]]
        for _ in range(a.arity):
            tuples = [t + [x] for t in tuples for x in ids]
        answered = {'index': 0, 'tree': 0}
        for t in tuples:
            scan = bound.scan(t)
            if index is not None:
                got, by_index = bound.table(t)
                answered['index'] += by_index
                if not same_outcome(got, scan):
                    raise Bad('index answers %s for %s, the scan %s' % (got, t, scan))
            if tree is not None:
                got, by_tree = bound.walk(t)
                answered['tree'] += by_tree
                if not same_outcome(got, scan):
                    raise Bad('tree answers %s for %s, the scan %s' % (got, t, scan))
        if expect is not None:
            if len(expect) != len(tuples):
                raise Bad('%d expected answers for %d tuples' % (len(expect), len(tuples)))
            for (t, lib_scan, lib_table, lib_tree) in expect:
                scan = bound.scan(t)
                if not same_outcome(scan, lib_scan):
                    raise Bad('scan %s: library %s, decoder %s' % (t, lib_scan, scan))
                for name, lib, (got, direct) in (('table', lib_table, bound.table(t) if index else (scan, False)),
                                                 ('tree', lib_tree, bound.walk(t) if tree else (scan, False))):
                    # Read from the same bytes, an answer of the index or tree matches exactly.
                    if (direct and got != lib) or not same_outcome(got, lib):
                        raise Bad('%s %s: library %s, decoder %s' % (name, t, lib, got))
        print('%s: %d tuples, index answered %d, tree %d, the rest by the scan; binding %s; all agree%s' % (
            args.arena, len(tuples), answered['index'], answered['tree'],
            'exact' if bound.exact else 'remapped', ' with the library' if expect is not None else ''))
        return 0
    except Bad as e:
        print('%s: %s' % (args.arena, e), file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
