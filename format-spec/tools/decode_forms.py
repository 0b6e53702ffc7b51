#!/usr/bin/env python3
"""Independent reader of jdc arenas, format 2.0 (and 1.x as a 2.0 reader reads them).

Written from format-spec/arena-v2.md alone, not from the C++ code, so that running it
against the reference writer's output checks the document:

  - verification, header and full level, check by check in the order of §10.2-§10.3
    (H1-H17, F1-F7, F9, F8), reporting the class and number of the first failure;
  - the dispatch index decoded per §5.6 (layout, position records, poles, rows, cells);
  - with a registry: structural hashes (§8.2), domains, canonical ranks and digests
    (§8.3), table_hash (§8.4), checked binding (§11.1) and keyed binding (§11.2), the
    index bound per §11.3, the type table's domain references (§5.2), and every tuple
    resolved three ways: by the index (§5.6), by this reader's own scan (§12) and, with
    --expect, by the library;
  - with --rebuild: the arena encoded again from its own content and the registry by
    the reference writer's rules (§6.4, §9), which must give the same bytes.

    decode_forms.py ARENA [--dump] [--registry REG.json [--writer] [--rebuild]]
                          [--key HEX32] [--expect ANSWERS.json] [--verify-only]

REG.json: {"types": [{"id", "name", "kind", "supers": [ids]}, ...]} in registration
order (supertypes first; ids are the registry's own numbers, any values), or a bare
list. The structural hashes are computed here (§8.2) with libxxhash's XXH3_64bits
through ctypes; a "hash" given in the file must match. --writer says the registry
holds the same types as the writer's (ids may differ): then the domain references, the
index's digests and the optimization fields must be exactly right. --key binds by key
(§11.2) instead of checking every type. --expect compares with a library's answers:
{"lookups": [[args, scan, lookup, table], ...]} over the tuples this script visits
(every tuple of the registry's ids plus one unregistered id, in odometer order, the
last position fastest), each answer "n", "m<index>" or "a<first>,<second>".

Exit status: 0 all checks pass; 1 a check of this script failed (the arena or an
answer is not what the spec says); 2 usage or I/O error; 3 verification rejected the
arena (printed as "rejected: <class> <check>: <reason>"); 4 binding refused it
("stale: <reason>").
"""
import argparse
import ctypes
import ctypes.util
import json
import struct
import sys


class Bad(Exception):
    """A check of this script failed: the arena or an answer is not what the spec says."""


class Reject(Exception):
    """Verification (§10) rejects the arena: the class and number of the first failing check."""

    def __init__(self, cls, check, why):
        super().__init__('%s %s: %s' % (cls, check, why))
        self.cls, self.check, self.why = cls, check, why


class Stale(Exception):
    """Binding (§11) refuses the arena."""


def u16(b, o): return struct.unpack_from('<H', b, o)[0]
def u32(b, o): return struct.unpack_from('<I', b, o)[0]
def u64(b, o): return struct.unpack_from('<Q', b, o)[0]
def align8(x): return (x + 7) & ~7
def in_range(off, length, size): return length <= size and off <= size - length  # §1


_lib = None


def xxh3(data):
    """XXH3_64bits, seed 0 (§1)."""
    global _lib
    if _lib is None:
        _lib = ctypes.CDLL(ctypes.util.find_library('xxhash') or 'libxxhash.so.0')
        _lib.XXH3_64bits.restype = ctypes.c_uint64
        _lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return _lib.XXH3_64bits(bytes(data), len(data))


class Enc:
    """The canonical encoding of §8.1."""

    def __init__(self): self.b = bytearray()
    def u8(self, v): self.b += bytes([v])
    def u32(self, v): self.b += struct.pack('<I', v)
    def u64(self, v): self.b += struct.pack('<Q', v)
    def str(self, s): self.u32(len(s)); self.b += s
    def hash(self): return xxh3(self.b)


MAGIC = b'JDCA'
READER_MAJOR, READER_MINOR = 2, 0
NO_LOCAL = 0xFFFFFFFF
NO_DOMAIN = 0xFF
NO_OWNER = 0xFFFFFFFF
AMBIGUOUS = 0x80000000
KINDS = {1: 'strings', 2: 'types', 3: 'signature', 4: 'entries', 5: 'parameters', 6: 'dispatch_index'}
DEFAULT_LIMITS = {'max_total_size': 1 << 30, 'max_entries': 1 << 22, 'max_types': 1 << 22,
                  'max_arity': 64, 'max_sections': 64}
HEADER = struct.Struct('<4sHHQQIIIBBHIIQQIIQQQ16sQQ')  # §3, 128 bytes
HEADER_FIELDS = ('magic', 'major', 'minor', 'table_hash', 'created_at_ns', 'signature_name_length', 'arity',
                 'entry_count', 'optimization_type', 'payload_codec', 'flags', 'ratio_ppm', 'type_count',
                 'memory_saved', 'total_size', 'header_size', 'section_count', 'section_dir_offset', 'key_hi',
                 'key_lo', 'reserved', 'data_checksum', 'metadata_checksum')
assert HEADER.size == 128


def valid_code(code, entry_count, ambiguity_count):
    """§5.6 result codes."""
    if code & AMBIGUOUS:
        return (code & 0x7FFFFFFF) < ambiguity_count
    return code <= entry_count


class Arena:
    """A verified arena (§10): construction runs every check and raises Reject."""

    def __init__(self, b, limits=None, level='full'):
        self.b = b = bytes(b)
        self.limits = limits = dict(DEFAULT_LIMITS, **(limits or {}))
        self.check_header(level)
        if level == 'full':
            self.check_full()

    # -- §10.2 -------------------------------------------------------------------------
    def check_header(self, level):
        b, lim = self.b, self.limits
        if len(b) >= 4 and b[:4] != MAGIC:
            raise Reject('bad_magic', 'H1', 'magic is %r' % b[:4])
        if len(b) < 128:
            raise Reject('truncated', 'H2', '%d bytes, shorter than the header' % len(b))
        h = self.h = dict(zip(HEADER_FIELDS, HEADER.unpack_from(b, 0)))
        if h['major'] not in (1, 2):
            raise Reject('unsupported_version', 'H3', 'version %d.%d' % (h['major'], h['minor']))
        if h['metadata_checksum'] != xxh3(b[:120]):
            raise Reject('checksum_mismatch', 'H4', 'metadata checksum')
        if h['payload_codec'] != 0:
            raise Reject('unsupported_version', 'H11', 'payload codec %d' % h['payload_codec'])
        if h['header_size'] != 128:
            raise Reject('corrupt', 'H5', 'header_size %d' % h['header_size'])
        if h['total_size'] > lim['max_total_size']:
            raise Reject('limit_exceeded', 'H6', 'total_size')
        if h['total_size'] > len(b):
            raise Reject('truncated', 'H7', 'total_size %d, %d bytes present' % (h['total_size'], len(b)))
        if h['total_size'] < len(b):
            raise Reject('corrupt', 'H8', 'trailing bytes')
        if h['total_size'] % 8:
            raise Reject('corrupt', 'H9', 'total_size not a multiple of 8')
        if h['flags'] != 0:
            raise Reject('unsupported_version', 'H10', 'flags %#x' % h['flags'])
        self.v2 = h['major'] == 2
        self.newer_minor = h['major'] == READER_MAJOR and h['minor'] > READER_MINOR
        if h['optimization_type'] >= 7 and not self.newer_minor:
            raise Reject('corrupt', 'H12', 'optimization type %d' % h['optimization_type'])
        if h['entry_count'] > lim['max_entries']:
            raise Reject('limit_exceeded', 'H13', 'entry_count')
        if h['type_count'] > lim['max_types']:
            raise Reject('limit_exceeded', 'H14', 'type_count')
        if h['arity'] > lim['max_arity']:
            raise Reject('limit_exceeded', 'H15', 'arity')
        if h['section_count'] > lim['max_sections']:
            raise Reject('limit_exceeded', 'H16', 'section_count')
        d = h['section_dir_offset']
        if d % 8 or d < 128 or not in_range(d, 24 * h['section_count'], h['total_size']):
            raise Reject('corrupt', 'H17', 'section directory at %d' % d)
        self.key = (h['key_hi'], h['key_lo']) if self.v2 else (0, 0)  # §3.2: 1.x has no key

    # -- §10.3 -------------------------------------------------------------------------
    def check_full(self):
        b, h = self.b, self.h
        total = h['total_size']
        if h['data_checksum'] != xxh3(b[128:total]):
            raise Reject('checksum_mismatch', 'F1', 'data checksum')
        known = (1, 2, 3, 4, 5, 6) if self.v2 else (1, 2, 3, 4, 5)
        dir_end = h['section_dir_offset'] + 24 * h['section_count']
        self.sections, self.directory = {}, []
        for i in range(h['section_count']):
            kind, flags, off, size = struct.unpack_from('<IIQQ', b, h['section_dir_offset'] + 24 * i)
            self.directory.append((kind, flags, off, size))
            if off % 8:
                raise Reject('corrupt', 'F2a', 'section %d offset %d' % (i, off))
            if off < dir_end or not in_range(off, size, total):
                raise Reject('corrupt', 'F2b', 'section %d [%d, +%d)' % (i, off, size))
            if kind not in known:
                if flags & 1:
                    raise Reject('unsupported_version', 'F2c', 'unknown required kind %d' % kind)
                continue
            if kind in self.sections:
                raise Reject('corrupt', 'F2d', 'kind %d twice' % kind)
            self.sections[kind] = (off, size, flags)
        for kind in (1, 2, 3, 4, 5):
            if kind not in self.sections:
                raise Reject('corrupt', 'F3', 'no %s section' % KINDS[kind])
        self.strings = self.sections[1][:2]
        A, tc, n = h['arity'], h['type_count'], h['entry_count']
        self.arity, self.type_count, self.entry_count = A, tc, n
        # F4
        off, size, _ = self.sections[3]
        if size < 16:
            raise Reject('corrupt', 'F4a', 'signature section %d bytes' % size)
        name_off, name_len, arity, ret = struct.unpack_from('<IIII', b, off)
        if arity != A:
            raise Reject('corrupt', 'F4b', 'signature arity %d, header %d' % (arity, A))
        if size != 16 + 4 * A:
            raise Reject('corrupt', 'F4c', 'signature section %d bytes' % size)
        if name_len != h['signature_name_length']:
            raise Reject('corrupt', 'F4d', 'signature name length')
        if not self.string_ok(name_off, name_len):
            raise Reject('corrupt', 'F4e', 'signature name')
        if ret >= tc and ret != NO_LOCAL:
            raise Reject('corrupt', 'F4f', 'signature return type %d' % ret)
        self.declared = []
        for p in range(A):
            t = u32(b, off + 16 + 4 * p)
            if t >= tc:
                raise Reject('corrupt', 'F4g', 'declared parameter %d is type %d' % (p, t))
            self.declared.append(t)
        self.name, self.declared_return = self.string(name_off, name_len), ret
        # F5
        off, size, _ = self.sections[2]
        if size != 24 * tc:
            raise Reject('corrupt', 'F5a', 'types section %d bytes' % size)
        self.types = []
        previous = None
        for i in range(tc):
            sh, noff, nlen, kind, pos, reserved, rank = struct.unpack_from('<QIIBBHI', b, off + 24 * i)
            if not self.string_ok(noff, nlen):
                raise Reject('corrupt', 'F5b', 'type %d name' % i)
            if kind >= 6 and not self.newer_minor:
                raise Reject('corrupt', 'F5c', 'type %d kind %d' % (i, kind))
            if self.v2:
                if i > 0 and sh <= previous:
                    raise Reject('corrupt', 'F5d', 'type %d not after type %d' % (i, i - 1))
                if pos != NO_DOMAIN and pos >= A:
                    raise Reject('corrupt', 'F5e', 'type %d domain position %d' % (i, pos))
                if pos == NO_DOMAIN and rank != 0:
                    raise Reject('corrupt', 'F5f', 'type %d in no domain, rank %d' % (i, rank))
                if reserved != 0:
                    raise Reject('corrupt', 'F5g', 'type %d reserved' % i)
            previous = sh
            t = {'hash': sh, 'name': self.string(noff, nlen), 'kind': kind}
            if self.v2:
                t.update(position=pos, rank=rank)
            else:
                t.update(position=NO_DOMAIN, rank=0, id_hint=rank)  # 1.x: bytes 20-23 are the writer's id
            self.types.append(t)
        # F6
        off, size, _ = self.sections[4]
        if size != 56 * n:
            raise Reject('corrupt', 'F6a', 'entries section %d bytes' % size)
        self.entries = []
        for i in range(n):
            f = struct.unpack_from('<12IQ', b, off + 56 * i)
            for what, o, l in (('name', f[2], f[3]), ('module', f[4], f[5]), ('file', f[6], f[7])):
                if not self.string_ok(o, l):
                    raise Reject('corrupt', 'F6b', 'entry %d %s' % (i, what))
            if f[1] >= tc and f[1] != NO_LOCAL:
                raise Reject('corrupt', 'F6b', 'entry %d return type' % i)
            self.entries.append({'function_id': f[0], 'return': f[1], 'name': self.string(f[2], f[3]),
                                 'module': self.string(f[4], f[5]), 'file': self.string(f[6], f[7]),
                                 'line': f[8], 'column': f[9], 'effects': f[10], 'specificity': f[11],
                                 'call_frequency': f[12]})
        # F7
        off, size, _ = self.sections[5]
        if size != 4 * n * A:
            raise Reject('corrupt', 'F7a', 'parameters section %d bytes' % size)
        cells = list(struct.unpack_from('<%dI' % (n * A), b, off)) if n * A else []
        for c, t in enumerate(cells):
            if t >= tc:
                raise Reject('corrupt', 'F7b', 'entry %d parameter %d' % (c // A, c % A))
        self.params = [cells[i * A:(i + 1) * A] for i in range(n)]
        # F9
        self.index = Index(self) if 6 in self.sections else None
        # F8
        spans = sorted((o, s) for (o, s, _) in self.sections.values() if s > 0)
        for (o1, s1), (o2, _) in zip(spans, spans[1:]):
            if o2 - o1 < s1:
                raise Reject('corrupt', 'F8', 'sections at %d and %d overlap' % (o1, o2))

    def string_ok(self, off, length):  # §5.1
        so, ss = self.strings
        return off >= so and in_range(off - so, length, ss)

    def string(self, off, length):
        return self.b[off:off + length]


class Index:
    """The dispatch_index of a 2.x arena (§5.6), checked with F9a-F9p in their order."""

    def __init__(self, a):
        b = a.b
        off, size, self.flags = a.sections[6]
        self.offset, self.size = off, size
        A = a.arity
        if size < 32:
            raise Reject('corrupt', 'F9a', 'index of %d bytes' % size)
        (self.arity, self.row_count, self.column_count, self.unique_rows, self.cell_count,
         self.ambiguity_count, self.techniques, self.cell_format) = struct.unpack_from('<8I', b, off)
        if self.arity != A:
            raise Reject('corrupt', 'F9b', 'index arity %d' % self.arity)
        if self.arity > 64:
            raise Reject('corrupt', 'F9c', 'index arity over 64')
        if self.cell_format not in (0, 1):
            raise Reject('corrupt', 'F9d', 'cell_format %d' % self.cell_format)
        if self.techniques >= 1 << 7 and not a.newer_minor:
            raise Reject('corrupt', 'F9e', 'techniques %#x' % self.techniques)
        if size < 32 + 16 * A:
            raise Reject('corrupt', 'F9f', 'no room for %d position records' % A)
        self.positions = []
        R = 1
        for p in range(A):
            digest, dsize, poles = struct.unpack_from('<QII', b, off + 32 + 16 * p)
            if dsize == 0 or dsize > a.limits['max_types']:
                raise Reject('corrupt', 'F9g', 'position %d domain size %d' % (p, dsize))
            if poles == 0 or poles > 65535 or poles > dsize:
                raise Reject('corrupt', 'F9g', 'position %d pole count %d' % (p, poles))
            if p <= A - 2:
                R *= poles
            if R > self.row_count:
                raise Reject('corrupt', 'F9g', 'row_count below the product of the pole counts')
            if p == A - 1 and poles != self.column_count:
                raise Reject('corrupt', 'F9g', 'column_count differs from the last pole count')
            self.positions.append({'digest': digest, 'size': dsize, 'poles': poles})
        if R != self.row_count:
            raise Reject('corrupt', 'F9h', 'row_count %d, pole counts give %d' % (self.row_count, R))
        if A == 0 and self.column_count != 1:
            raise Reject('corrupt', 'F9i', 'column_count of arity 0')
        if self.unique_rows == 0 or self.unique_rows > self.row_count:
            raise Reject('corrupt', 'F9j', 'unique_rows %d' % self.unique_rows)
        self.layout = layout = index_layout(A, [q['size'] for q in self.positions], self.row_count,
                                            self.cell_format, self.cell_count, self.ambiguity_count)
        if size != layout['size']:
            raise Reject('corrupt', 'F9k', 'size %d, layout gives %d' % (size, layout['size']))
        self.pole_of = []
        for p in range(A):
            row = list(struct.unpack_from('<%dH' % self.positions[p]['size'], b, off + layout['pole_of'][p]))
            for r, q in enumerate(row):
                if q == 0 or q > self.positions[p]['poles']:
                    raise Reject('corrupt', 'F9l', 'pole of rank %d at position %d is %d' % (r, p, q))
            self.pole_of.append(row)
        if self.column_count > self.cell_count:
            raise Reject('corrupt', 'F9m', 'column_count over cell_count')
        self.rows = []
        for r in range(self.row_count):
            first, unique = struct.unpack_from('<II', b, off + layout['rows'] + 8 * r)
            if unique >= self.unique_rows:
                raise Reject('corrupt', 'F9n', 'row %d unique %d' % (r, unique))
            if first + self.column_count > self.cell_count:
                raise Reject('corrupt', 'F9n', 'row %d runs past the cells' % r)
            self.rows.append((first, unique))
        self.cells = []
        for c in range(self.cell_count):
            if self.cell_format == 1:
                code = u32(b, off + layout['cells'] + 4 * c)
                if not valid_code(code, a.entry_count, self.ambiguity_count):
                    raise Reject('corrupt', 'F9o', 'cell %d' % c)
                self.cells.append(code)
            else:
                owner, code = struct.unpack_from('<II', b, off + layout['cells'] + 8 * c)
                ok = code == 0 if owner == NO_OWNER else (
                    owner < self.unique_rows and valid_code(code, a.entry_count, self.ambiguity_count))
                if not ok:
                    raise Reject('corrupt', 'F9o', 'cell %d' % c)
                self.cells.append((owner, code))
        self.ambiguities = []
        for j in range(self.ambiguity_count):
            first, second = struct.unpack_from('<II', b, off + layout['ambiguities'] + 8 * j)
            if not first < second < a.entry_count:
                raise Reject('corrupt', 'F9p', 'ambiguity %d' % j)
            self.ambiguities.append((first, second))

    def code(self, row, column):
        """Steps 4-5 of the §5.6 lookup."""
        first, unique = self.rows[row]
        s = first + column
        if self.cell_format == 1:
            return self.cells[s]
        owner, code = self.cells[s]
        return code if owner == unique else 0

    def lookup(self, ranks):
        """Steps 2-5 with the arguments' ranks (None: not a member of the domain)."""
        qs = []
        for p, r in enumerate(ranks):
            if r is None:
                return 0  # step 2: no method
            qs.append(self.pole_of[p][r] - 1)
        row = 0
        for p in range(self.arity - 1):
            row = row * self.positions[p]['poles'] + qs[p]
        return self.code(row, qs[-1] if self.arity else 0)


def index_layout(arity, domain_sizes, row_count, cell_format, cell_count, ambiguity_count):
    """The table 'Layout' of §5.6."""
    at = align8(32 + 16 * arity)
    pole_of = []
    for p in range(arity):
        pole_of.append(at)
        at = align8(at + 2 * domain_sizes[p])
    rows = at
    cells = align8(rows + 8 * row_count)
    amb = align8(cells + (4 if cell_format == 1 else 8) * cell_count)
    return {'positions': 32, 'pole_of': pole_of, 'rows': rows, 'cells': cells, 'ambiguities': amb,
            'size': amb + 8 * ambiguity_count}


class Registry:
    """A live type registry (§8.2, §8.3): hashes computed here, domains, ranks, digests."""

    def __init__(self, types):
        self.by_id, self.by_hash, self.by_name, self.anc = {}, {}, {}, {}
        for t in types:
            e = Enc()
            e.str(t['name'].encode())
            e.u8(t['kind'])
            e.u32(len(t['supers']))
            for s in t['supers']:
                e.u64(self.by_id[s]['hash'])
            h = e.hash()
            if 'hash' in t and t['hash'] != h:
                raise Bad('registry: %s has hash %#x, §8.2 gives %#x' % (t['name'], t['hash'], h))
            if h in self.by_hash:
                raise Bad('registry: two types with hash %#x' % h)
            rec = {'id': t['id'], 'name': t['name'].encode(), 'kind': t['kind'], 'hash': h, 'supers': t['supers']}
            self.by_id[t['id']] = rec
            self.by_hash[h] = t['id']
            self.by_name[rec['name']] = t['id']
            anc = {t['id']}
            for s in t['supers']:
                anc |= self.anc[s]
            self.anc[t['id']] = anc
        self._domains = {}

    def le(self, a, b):
        """a ≤ b (§1); false for unregistered types."""
        return a in self.anc and b in self.anc[a]

    def domain(self, root):
        """§8.3: members by rank (ascending structural hash), their ranks, the digest."""
        if root not in self._domains:
            members = sorted((t for t in self.by_id if self.le(t, root)), key=lambda t: self.by_id[t]['hash'])
            e = Enc()
            e.str(b'jdc type domain')
            e.u32(len(members))
            for m in members:
                e.u64(self.by_id[m]['hash'])
            self._domains[root] = {'members': members, 'rank': {m: r for r, m in enumerate(members)},
                                   'digest': e.hash()}
        return self._domains[root]


def table_hash(a):
    """§8.4, from the arena alone."""
    sh = lambda t: 0 if t == NO_LOCAL else a.types[t]['hash']
    e = Enc()
    e.str(a.name)
    e.u32(a.arity)
    for t in a.declared:
        e.u64(sh(t))
    e.u64(sh(a.declared_return))
    e.u32(a.entry_count)
    for x, params in zip(a.entries, a.params):
        e.u32(x['function_id'])
        e.str(x['name'])
        e.str(x['module'])
        for t in params:
            e.u64(sh(t))
        e.u64(sh(x['return']))
        e.u32(x['effects'])
        e.u32(x['specificity'])
        e.str(x['file'])
        e.u32(x['line'])
        e.u32(x['column'])
    return e.hash()


class Bound:
    """§11: the arena's types mapped to the registry; the index bound per §11.3."""

    def __init__(self, a, reg, key=None):
        self.a, self.reg = a, reg
        A = a.arity
        if key is not None:  # §11.2
            if a.key != key:
                raise Stale('the arena says key %032x, not %032x' % ((a.key[0] << 64) | a.key[1],
                                                                       (key[0] << 64) | key[1]))
        self.live_declared = []
        for p in range(A):  # §11.1 step 1 (keyed: the caller's declared types, checked alike)
            t = a.types[a.declared[p]]
            i = reg.by_hash.get(t['hash'])
            if i is None or reg.by_id[i]['name'] != t['name']:
                if key is not None:  # §11.2 step 3: the caller asked with another table's types
                    raise Bad('keyed binding: declared parameter %d is not the arena\'s (invalid_argument)' % p)
                raise Stale(self.why(t))
            self.live_declared.append(i)
        self.domains = [reg.domain(d) for d in self.live_declared]
        self.live, self.shortcuts = [], 0
        for t in a.types:  # §11.1 step 2
            cand = None
            p = t['position']
            if p != NO_DOMAIN and p < A:  # the optional domain shortcut
                members = self.domains[p]['members']
                if t['rank'] < len(members) and reg.by_id[members[t['rank']]]['hash'] == t['hash']:
                    cand = members[t['rank']]
                    self.shortcuts += 1
            if cand is None:
                cand = reg.by_hash.get(t['hash'])
            if cand is None or reg.by_id[cand]['name'] != t['name']:
                if key is not None:
                    cand = None  # keyed: trusted, maps to no type
                else:
                    raise Stale(self.why(t))
            self.live.append(cand)
        ix = a.index
        self.index_bound = ix is not None and all(  # §11.3: digest and size
            d['digest'] == q['digest'] and len(d['members']) == q['size'] for d, q in zip(self.domains, ix.positions))

    def why(self, t):
        name = t['name'].decode('utf-8', 'replace')
        return 'type %s %s' % (name, 'changed definition' if t['name'] in self.reg.by_name else 'no longer exists')

    def answer(self, code):
        if code == 0:
            return 'n'
        if code & AMBIGUOUS:
            return 'a%d,%d' % self.a.index.ambiguities[code & 0x7FFFFFFF]
        return 'm%d' % (code - 1)

    def scan(self, args):
        """§12, the textbook definition (the ambiguous pair is any two contenders)."""
        a, le = self.a, self.reg.le
        if len(args) != a.arity:
            return 'n'
        P = [[self.live[t] for t in row] for row in a.params]
        app = [i for i in range(a.entry_count) if all(le(args[p], P[i][p]) for p in range(a.arity))]
        if not app:
            return 'n'
        spec = lambda i, j: all(le(P[i][p], P[j][p]) for p in range(a.arity))
        for m in app:
            if all(spec(m, j) and not spec(j, m) for j in app if j != m):
                return 'm%d' % m
        return 'a%d,%d' % (app[0], app[1])

    def table(self, args):
        """§5.6 lookup; None when the index is not bound (§11.3)."""
        if not self.index_bound:
            return None
        if len(args) != self.a.arity:
            return 'n'
        ranks = [self.domains[p]['rank'].get(x) for p, x in enumerate(args)]
        return self.answer(self.a.index.lookup(ranks))


def same_outcome(x, y):
    return x[0] == y[0] and (x[0] != 'm' or x == y)


def check_writer_facts(a, bound):
    """What §5.2, §5.6 and §6.4 require of the writer, given the writer's types."""
    reg = bound.reg
    for i, t in enumerate(a.types):
        live = bound.live[i]
        want = (NO_DOMAIN, 0)
        for p, d in enumerate(bound.domains):
            if live in d['rank']:
                want = (p, d['rank'][live])
                break
        if a.v2 and (t['position'], t['rank']) != want:
            raise Bad('type %d (%s): domain reference %s, §5.2 gives %s' % (i, t['name'], (t['position'], t['rank']), want))
    ix = a.index
    if ix is None:
        return
    for p, (d, q) in enumerate(zip(bound.domains, ix.positions)):
        if (d['digest'], len(d['members'])) != (q['digest'], q['size']):
            raise Bad('position %d: digest/size %#x/%d, the writer\'s domain has %#x/%d' % (
                p, q['digest'], q['size'], d['digest'], len(d['members'])))
    T = ix.techniques
    want_type = (T.bit_length() - 1) if bin(T).count('1') == 1 else 6
    if a.h['optimization_type'] != want_type:
        raise Bad('optimization_type %d, §6.4 gives %d' % (a.h['optimization_type'], want_type))
    D = 4
    for q in ix.positions:
        D = min(D * q['size'], 2**64 - 1)
    S = ix.size
    ratio = min(4000.0, S / D)
    ppm = int(ratio * 1e6 + 0.5)  # round half away from zero (non-negative)
    if a.h['ratio_ppm'] != ppm or a.h['memory_saved'] != (D - S if D > S else 0):
        raise Bad('ratio/memory_saved %d/%d, §6.4 gives %d/%d' % (a.h['ratio_ppm'], a.h['memory_saved'], ppm,
                                                                   D - S if D > S else 0))


# -- §9: the reference writer, to check that the document describes its bytes -------------

def build_index(a, bound):
    """The dispatch_index the reference writer writes for this table (§5.6, §9)."""
    reg, A, n = bound.reg, a.arity, a.entry_count
    P = [[bound.live[t] for t in row] for row in a.params]
    pole_of, pole_sets = [], []
    for p in range(A):
        members = bound.domains[p]['members']
        sets = [frozenset(i for i in range(n) if reg.le(m, P[i][p])) for m in members]
        number, poles = {}, []
        for s in sets:
            if s not in number:
                number[s] = len(number) + 1
                poles.append(s)
        pole_of.append([number[s] for s in sets])
        pole_sets.append(poles)
    counts = [len(s) for s in pole_sets]
    spec = lambda i, j: all(reg.le(P[i][p], P[j][p]) for p in range(A))
    strictly = lambda i, j: spec(i, j) and not spec(j, i)
    cells, pairs = [], {}
    tuples = [[]]
    for p in range(A):
        tuples = [t + [q] for t in tuples for q in range(counts[p])]
    for t in tuples:  # row-major, position 0 slowest
        app = set(range(n))
        for p, q in enumerate(t):
            app &= pole_sets[p][q]
        app = sorted(app)
        if not app:
            cells.append(0)
            continue
        best = app[0]
        for m in app[1:]:  # the tournament of §12 / §5.6
            if strictly(m, best):
                best = m
        rival = next((m for m in app if m != best and not strictly(best, m)), None)
        if rival is None:
            cells.append(best + 1)
        else:
            pair = (min(best, rival), max(best, rival))
            pairs.setdefault(pair, len(pairs))
            cells.append(AMBIGUOUS | pairs[pair])
    cols = counts[-1] if A else 1
    rows = 1
    for c in counts[:-1]:
        rows *= c
    unique_of, firsts = [], {}
    for r in range(rows):
        content = tuple(cells[r * cols:(r + 1) * cols])
        if content not in firsts:
            firsts[content] = len(firsts)
        unique_of.append(firsts[content])
    uniques = list(firsts)
    U = len(uniques)
    order = sorted(range(U), key=lambda u: -sum(1 for c in uniques[u] if c))  # stable: ties by number
    slots, disp, f = [], [0] * U, 0
    for u in order:
        filled = [c for c in range(cols) if uniques[u][c]]
        d = 0
        if filled:
            d = max(0, f - filled[0])
            while any(d + c < len(slots) and slots[d + c][0] != NO_OWNER for c in filled):
                d += 1
        disp[u] = d
        while len(slots) < d + cols:
            slots.append((NO_OWNER, 0))
        for c in filled:
            slots[d + c] = (u, uniques[u][c])
        while f < len(slots) and slots[f][0] != NO_OWNER:
            f += 1
    plain = 4 * U * cols <= 8 * len(slots)
    techniques = 1 << 1 | (1 << 3 if U < rows else 0) | (0 if plain else 1 << 2)
    fmt, cell_count = (1, U * cols) if plain else (0, len(slots))
    L = index_layout(A, [len(m) for m in pole_of], rows, fmt, cell_count, len(pairs))
    out = bytearray(L['size'])
    struct.pack_into('<8I', out, 0, A, rows, cols, U, cell_count, len(pairs), techniques, fmt)
    for p in range(A):
        struct.pack_into('<QII', out, 32 + 16 * p, bound.domains[p]['digest'], len(pole_of[p]), counts[p])
        struct.pack_into('<%dH' % len(pole_of[p]), out, L['pole_of'][p], *pole_of[p])
    for r in range(rows):
        u = unique_of[r]
        struct.pack_into('<II', out, L['rows'] + 8 * r, u * cols if plain else disp[u], u)
    if plain:
        for u in range(U):
            struct.pack_into('<%dI' % cols, out, L['cells'] + 4 * u * cols, *uniques[u])
    else:
        for s, (owner, code) in enumerate(slots):
            struct.pack_into('<II', out, L['cells'] + 8 * s, owner, code)
    for (x, y), j in pairs.items():
        struct.pack_into('<II', out, L['ambiguities'] + 8 * j, x, y)
    return bytes(out)


def rebuild(a, bound):
    """The whole arena as the reference writer would write it from this content (§9)."""
    h = a.h
    index = build_index(a, bound) if a.index is not None else None
    pool, where = bytearray(), {}

    def add(s):
        if s not in where:
            where[s] = len(pool)
            pool.extend(s)
        return where[s]
    sig_name = add(a.name)
    type_names = [add(t['name']) for t in a.types]
    entry_strings = [(add(x['name']), add(x['module']), add(x['file'])) for x in a.entries]
    A, n = a.arity, a.entry_count
    sig_off = align8(128 + 6 * 24)
    sig_size = 16 + 4 * A
    par_off = align8(sig_off + sig_size)
    par_size = 4 * n * A
    typ_off = align8(par_off + par_size)
    typ_size = 24 * len(a.types)
    ent_off = align8(typ_off + typ_size)
    ent_size = 56 * n
    str_off = align8(ent_off + ent_size)
    idx_off = align8(str_off + len(pool))
    total = align8(idx_off + (len(index) if index else 0))
    out = bytearray(total)
    dirs = [(3, 1, sig_off, sig_size), (5, 1, par_off, par_size), (2, 1, typ_off, typ_size),
            (4, 1, ent_off, ent_size), (1, 1, str_off, len(pool))]
    if index:
        dirs.append((6, 0, idx_off, len(index)))
        out[idx_off:idx_off + len(index)] = index
    for i, d in enumerate(dirs):
        struct.pack_into('<IIQQ', out, 128 + 24 * i, *d)
    struct.pack_into('<IIII', out, sig_off, str_off + sig_name, len(a.name), A, a.declared_return)
    for p, t in enumerate(a.declared):
        struct.pack_into('<I', out, sig_off + 16 + 4 * p, t)
    for i, row in enumerate(a.params):
        struct.pack_into('<%dI' % A, out, par_off + 4 * A * i, *row)
    for i, t in enumerate(a.types):
        struct.pack_into('<QIIBBHI', out, typ_off + 24 * i, t['hash'], str_off + type_names[i], len(t['name']),
                         t['kind'], t['position'], 0, t['rank'])
    for i, x in enumerate(a.entries):
        s = entry_strings[i]
        struct.pack_into('<12IQ', out, ent_off + 56 * i, x['function_id'], x['return'], str_off + s[0],
                         len(x['name']), str_off + s[1], len(x['module']), str_off + s[2], len(x['file']),
                         x['line'], x['column'], x['effects'], x['specificity'], x['call_frequency'])
    out[str_off:str_off + len(pool)] = pool
    fields = dict(h, major=2, minor=0, total_size=total, header_size=128, section_count=len(dirs),
                  section_dir_offset=128, reserved=bytes(16), data_checksum=0, metadata_checksum=0, payload_codec=0,
                  flags=0, table_hash=table_hash(a))
    HEADER.pack_into(out, 0, *[fields[k] for k in HEADER_FIELDS])
    struct.pack_into('<Q', out, 112, xxh3(out[128:]))
    struct.pack_into('<Q', out, 120, xxh3(out[:120]))
    return bytes(out)


def dump(a):
    h = a.h
    print('version %d.%d, %d bytes, table_hash %#018x, key %032x' % (
        h['major'], h['minor'], h['total_size'], h['table_hash'], (a.key[0] << 64) | a.key[1]))
    print('signature %s, arity %d, %d entries, %d types; optimization_type %d, ratio_ppm %d, memory_saved %d' % (
        a.name.decode(), a.arity, a.entry_count, a.type_count, h['optimization_type'], h['ratio_ppm'],
        h['memory_saved']))
    print('checksums: data %#018x, metadata %#018x' % (h['data_checksum'], h['metadata_checksum']))
    for kind, flags, off, size in a.directory:
        print('  section kind %d flags %d at %d (%#x), %d bytes' % (kind, flags, off, off, size))
    for i, t in enumerate(a.types):
        print('  type %d %-10s hash %#018x kind %d position %s rank %d' % (
            i, t['name'].decode(), t['hash'], t['kind'], 'none' if t['position'] == NO_DOMAIN else t['position'],
            t.get('id_hint', t['rank'])))
    ix = a.index
    if ix is None:
        print('no dispatch_index')
        return
    L = ix.layout
    print('dispatch_index at %d (%#x), %d bytes: arity %d, rows %d, columns %d, unique %d, cells %d (format %d), '
          'ambiguities %d, techniques %#x' % (ix.offset, ix.offset, ix.size, ix.arity, ix.row_count, ix.column_count,
                                              ix.unique_rows, ix.cell_count, ix.cell_format, ix.ambiguity_count,
                                              ix.techniques))
    print('  offsets: positions %d, pole_of %s, rows %d, cells %d, ambiguities %d' % (
        L['positions'], L['pole_of'], L['rows'], L['cells'], L['ambiguities']))
    for p, q in enumerate(ix.positions):
        print('  position %d: digest %#018x, domain_size %d, pole_count %d; pole_of %s' % (
            p, q['digest'], q['size'], q['poles'], ix.pole_of[p]))
    print('  rows (first_slot, unique):', ix.rows)
    print('  cells:', ['%#x' % c if isinstance(c, int) else '(%s,%#x)' % ('-' if c[0] == NO_OWNER else c[0], c[1])
                       for c in ix.cells])
    print('  ambiguities:', ix.ambiguities)
    for r in range(ix.row_count):
        print('  row %d: %s' % (r, ['%#x' % ix.code(r, c) for c in range(ix.column_count)]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('arena')
    ap.add_argument('--dump', action='store_true')
    ap.add_argument('--registry')
    ap.add_argument('--writer', action='store_true')
    ap.add_argument('--rebuild', action='store_true')
    ap.add_argument('--key')
    ap.add_argument('--expect')
    ap.add_argument('--verify-only', action='store_true')
    args = ap.parse_args()
    try:
        data = open(args.arena, 'rb').read()
        reg_types = None
        if args.registry:
            j = json.load(open(args.registry))
            reg_types = j['types'] if isinstance(j, dict) else j
        expect = json.load(open(args.expect))['lookups'] if args.expect else None
        key = None
        if args.key:
            if len(args.key) != 32:
                raise ValueError('--key takes 32 hex digits')
            key = (int(args.key[:16], 16), int(args.key[16:], 16))
    except (OSError, ValueError) as e:
        print('decode_forms: %s' % e, file=sys.stderr)
        return 2
    try:
        header_only = None
        try:
            Arena(data, level='header')
        except Reject as e:
            header_only = e
        try:
            a = Arena(data)
        except Reject as e:
            if header_only is not None and (header_only.cls, header_only.check) != (e.cls, e.check):
                raise Bad('header level says %s, full level %s' % (header_only, e))
            print('rejected: %s' % e)
            return 3
        if header_only is not None:
            raise Bad('header level rejects what full accepts: %s' % header_only)
        if a.h['table_hash'] != table_hash(a):
            raise Bad('table_hash %#x, §8.4 gives %#x' % (a.h['table_hash'], table_hash(a)))
        if args.dump:
            dump(a)
        if args.verify_only or reg_types is None:
            print('%s: verifies (format %d.%d)%s' % (args.arena, a.h['major'], a.h['minor'],
                                                     ', index decoded' if a.index else ''))
            return 0
        reg = Registry(reg_types)
        try:
            bound = Bound(a, reg, key)
        except Stale as e:
            print('stale: %s' % e)
            return 4
        if args.writer:
            check_writer_facts(a, bound)
            if a.v2 and not bound.index_bound and a.index is not None:
                raise Bad('the writer\'s registry does not bind the index')
        if args.rebuild:
            again = rebuild(a, bound)
            ours = bytearray(again)
            ours[16:24] = data[16:24]  # created_at_ns is the writer's; reseal
            ours[80:96] = data[80:96]  # and so is the key
            struct.pack_into('<Q', ours, 120, xxh3(ours[:120]))
            if bytes(ours) != data:
                diff = next(i for i in range(min(len(ours), len(data))) if ours[i] != data[i]) \
                    if len(ours) == len(data) else 'size %d vs %d' % (len(ours), len(data))
                raise Bad('§9 rebuild differs from the arena (first difference at %s)' % diff)
        ids = sorted(reg.by_id) + [max(reg.by_id, default=0) + 1]  # plus an unregistered id
        tuples = [[]]
        for _ in range(a.arity):
            tuples = [t + [x] for t in tuples for x in ids]
        by_index = 0
        for t in tuples:
            scan = bound.scan(t)
            got = bound.table(t)
            if got is not None:
                by_index += 1
                if not same_outcome(got, scan):
                    raise Bad('index answers %s for %s, the scan %s' % (got, t, scan))
        if expect is not None:
            if [e[0] for e in expect] != tuples:
                raise Bad('the expected answers are not over the tuples visited here')
            for args_, lib_scan, lib_lookup, lib_table in expect:
                scan = bound.scan(args_)
                table = bound.table(args_)
                if not same_outcome(scan, lib_scan):
                    raise Bad('scan %s: library %s, decoder %s' % (args_, lib_scan, scan))
                # Read from the same bytes, the index's answer matches exactly; when it is
                # not bound, the library's table lookup is its scan.
                if table is not None and (table != lib_table or table != lib_lookup):
                    raise Bad('index %s: library %s/%s, decoder %s' % (args_, lib_table, lib_lookup, table))
                if table is None and not (same_outcome(lib_table, scan) and same_outcome(lib_lookup, scan)):
                    raise Bad('%s: index not bound, the library answers %s/%s, the scan %s' % (
                        args_, lib_table, lib_lookup, scan))
        print('%s: format %d.%d, %d tuples, index %s (answered %d), %d of %d types by domain reference%s%s%s' % (
            args.arena, a.h['major'], a.h['minor'], len(tuples),
            'bound' if bound.index_bound else ('not bound' if a.index else 'absent'), by_index, bound.shortcuts,
            a.type_count, ', keyed' if key else '', ', rebuilt byte for byte' if args.rebuild else '',
            '; all agree with the library' if expect is not None else '; index and scan agree'))
        return 0
    except Bad as e:
        print('%s: %s' % (args.arena, e), file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
