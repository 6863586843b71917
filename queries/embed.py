#!/usr/bin/env python3
"""Embeds queries/*.sql and queries/*.lua into C (build step, stdlib only).

usage: embed.py OUT.h OUT.c FILE...

Every statement and script of hotline12345 lives in its own file here; the C code
names them, never spells them. A file opens with a comment block that says what it
does (and, for SQL, which indexes it relies on), then declares, in order:

  SQL   -- $N name  type  meaning      one line per parameter $1, $2, ... (all used)
        -- > name   meaning            one line per result column, in order
  Lua   -- KEYS[N] name  meaning       one line per key
        -- ARGV[N] name  meaning       one line per fixed argument ("ARGV[N..]" for a
                                       variable tail)

A line `-- for: PROGRAM, ...` names the programs that run a statement (hotlined,
hotlinectl, hotline-stats): hotlined prepares it on every connection only when it
is named, or when there is no such line (`-- for: hotline-stats, hotlined`: the
statistics that the tool and GET /api/v1/stats/* share).

The generator checks what it can without a server: parameters numbered 1..n with
no gap, every $N of the body declared and every declared one used, names unique and
valid C identifiers. The result columns are checked against PostgreSQL itself by
tests/integration/test_queries.py (each statement is prepared and described), so a
column added in the wrong place fails a test, not production.

Output: OUT.h with `enum query` (QUERY_NAME), `enum script` (SCRIPT_NAME), and per
statement `enum { NAME_P_PARAM, ..., NAME_NPARAMS }` and `enum { NAME_C_COLUMN, ...,
NAME_NCOLUMNS }`, per script `enum { NAME_K_KEY, ..., NAME_NKEYS }` and `NAME_A_ARG`;
OUT.c with the tables `queries[]` and `scripts[]` (name, text, counts, the SHA1 a
script has in Redis).
"""
import hashlib
import os
import re
import sys

IDENT = re.compile(r'^[a-z][a-z0-9_]*$')
PROGRAMS = ('hotlined', 'hotlinectl', 'hotline-stats')  # what a `-- for:` line may name


def fail(path, msg):
    sys.exit('embed.py: %s: %s' % (path, msg))


def c_string(text):
    out = []
    for line in text.splitlines(keepends=True):
        esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
        out.append('\t"%s"' % esc)
    return '\n'.join(out) if out else '\t""'


def header_lines(text):
    """The leading comment block: lines starting with '--' before the first other line."""
    lines = []
    for line in text.splitlines():
        if line.startswith('--'):
            lines.append(line[2:].strip())
        elif line.strip() == '':
            if lines:
                lines.append('')
        else:
            break
    return lines


def sql_body_params(text):
    """The $N used in the body, outside comments and string literals."""
    used = set()
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('--', i):
            j = text.find('\n', i)
            i = n if j < 0 else j
        elif text.startswith('/*', i):
            j = text.find('*/', i)
            i = n if j < 0 else j + 2
        elif c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and text.startswith("''", j):
                    j += 2
                elif text[j] == "'":
                    break
                else:
                    j += 1
            i = j + 1
        elif c == '$' and i + 1 < n and text[i + 1].isdigit():
            j = i + 1
            while j < n and text[j].isdigit():
                j += 1
            used.add(int(text[i + 1:j]))
            i = j
        else:
            i += 1
    return used


def parse_sql(path, text):
    params, columns = [], []
    for line in header_lines(text):
        if line.startswith('for:'):
            continue
        m = re.match(r'^\$(\d+)\s+([a-z][a-z0-9_]*)\s+(\S+)\s*(.*)$', line)
        if m:
            num, name = int(m.group(1)), m.group(2)
            if num != len(params) + 1:
                fail(path, 'parameter $%d declared out of order (expected $%d)' % (num, len(params) + 1))
            params.append(name)
            continue
        m = re.match(r'^>\s+([a-z][a-z0-9_]*)\b', line)
        if m:
            columns.append(m.group(1))
    used = sql_body_params(text)
    declared = set(range(1, len(params) + 1))
    if used - declared:
        fail(path, 'undeclared parameter(s) %s' % ', '.join('$%d' % p for p in sorted(used - declared)))
    if declared - used:
        fail(path, 'declared but unused parameter(s) %s' % ', '.join('$%d' % p for p in sorted(declared - used)))
    for kind, names in (('parameter', params), ('column', columns)):
        if len(set(names)) != len(names):
            fail(path, 'a %s name is declared twice' % kind)
    return params, columns


def run_by(path, text):
    """The programs of the `-- for:` line, or None when there is none (hotlined's)."""
    found = None
    for line in header_lines(text):
        if not line.startswith('for:'):
            continue
        if found is not None:
            fail(path, 'two `-- for:` lines')
        found = [name.strip() for name in line[len('for:'):].split(',')]
        for name in found:
            if name not in PROGRAMS:
                fail(path, '`-- for:` names %r, not one of %s' % (name, ', '.join(PROGRAMS)))
    return found


def parse_lua(path, text):
    keys, args, tail = [], [], False
    for line in header_lines(text):
        m = re.match(r'^KEYS\[(\d+)\]\s+([a-z][a-z0-9_]*)\b', line)
        if m:
            if int(m.group(1)) != len(keys) + 1:
                fail(path, 'KEYS[%s] declared out of order' % m.group(1))
            keys.append(m.group(2))
            continue
        m = re.match(r'^ARGV\[(\d+)(\.\.)?\]\s+([a-z][a-z0-9_]*)\b', line)
        if m:
            if int(m.group(1)) != len(args) + 1:
                fail(path, 'ARGV[%s] declared out of order' % m.group(1))
            if m.group(2):
                tail = True
            else:
                args.append(m.group(3))
    return keys, args, tail


def main():
    out_h, out_c, files = sys.argv[1], sys.argv[2], sorted(sys.argv[3:], key=os.path.basename)
    queries, scripts = [], []
    for path in files:
        base = os.path.basename(path)
        stem, ext = os.path.splitext(base)
        if not IDENT.match(stem):
            fail(path, 'file name must be lower_case.sql or .lua')
        with open(path, encoding='utf-8') as f:
            text = f.read()
        if not header_lines(text) or not header_lines(text)[0]:
            fail(path, 'must open with a comment saying what it does')
        if ext == '.sql':
            params, columns = parse_sql(path, text)
            programs = run_by(path, text)
            daemon = programs is None or 'hotlined' in programs
            queries.append((stem, text, params, columns, daemon))
        elif ext == '.lua':
            keys, args, tail = parse_lua(path, text)
            sha = hashlib.sha1(text.encode('utf-8')).hexdigest()
            scripts.append((stem, text, keys, args, tail, sha))
        else:
            fail(path, 'only .sql and .lua files belong here')

    with open(out_h, 'w', encoding='utf-8') as h:
        h.write('/* Generated by queries/embed.py from the files in queries/ (NAME.sql, NAME.lua): do not edit. */\n')
        h.write('#ifndef HOTLINE_QUERIES_H\n#define HOTLINE_QUERIES_H\n\n#include <stddef.h>\n\n')
        h.write('/* A statement: prepared as NAME on every daemon connection. */\n')
        h.write('struct query_def {\n\tconst char *name;\n\tconst char *text;\n\tint nparams;\n'
                '\tint ncolumns;\n\tconst char *const *params;\n\tconst char *const *columns;\n'
                '\tint daemon; /* prepared by hotlined (0: a tool\'s statement only) */\n};\n\n')
        h.write('/* A Lua script: loaded into Redis at connect, run with EVALSHA sha. */\n')
        h.write('struct script_def {\n\tconst char *name;\n\tconst char *text;\n\tconst char *sha;\n'
                '\tint nkeys;\n\tint nargs; /* fixed ARGV entries (more may follow: see the file) */\n};\n\n')
        h.write('enum query {\n')
        for q in queries:
            h.write('\tQUERY_%s,\n' % q[0].upper())
        h.write('\tQUERY_COUNT\n};\n\n')
        h.write('enum script {\n')
        for s in scripts:
            h.write('\tSCRIPT_%s,\n' % s[0].upper())
        h.write('\tSCRIPT_COUNT\n};\n\n')
        h.write('extern const struct query_def queries[QUERY_COUNT];\n')
        h.write('extern const struct script_def scripts[SCRIPT_COUNT];\n\n')
        for name, _, params, columns, _ in queries:
            up = name.upper()
            h.write('/* queries/%s.sql */\n' % name)
            h.write('enum {\n' + ''.join('\t%s_P_%s,\n' % (up, p.upper()) for p in params))
            h.write('\t%s_NPARAMS\n};\n' % up)
            h.write('enum {\n' + ''.join('\t%s_C_%s,\n' % (up, c.upper()) for c in columns))
            h.write('\t%s_NCOLUMNS\n};\n\n' % up)
        for name, _, keys, args, tail, _ in scripts:
            up = name.upper()
            h.write('/* queries/%s.lua */\n' % name)
            h.write('enum {\n' + ''.join('\t%s_K_%s,\n' % (up, k.upper()) for k in keys))
            h.write('\t%s_NKEYS\n};\n' % up)
            h.write('enum {\n' + ''.join('\t%s_A_%s,\n' % (up, a.upper()) for a in args))
            h.write('\t%s_NARGS\n};\n\n' % up)
        h.write('#endif\n')

    with open(out_c, 'w', encoding='utf-8') as c:
        c.write('/* Generated by queries/embed.py from the files in queries/ (NAME.sql, NAME.lua): do not edit. */\n')
        c.write('#include "queries.h"\n\n')
        for name, _, params, columns, _ in queries:
            c.write('static const char *const %s_params[] = { %s };\n' % (
                name, ', '.join('"%s"' % p for p in params) or 'NULL'))
            c.write('static const char *const %s_columns[] = { %s };\n' % (
                name, ', '.join('"%s"' % col for col in columns) or 'NULL'))
        c.write('\nconst struct query_def queries[QUERY_COUNT] = {\n')
        for name, text, params, columns, daemon in queries:
            c.write('\t[QUERY_%s] = { "%s",\n%s,\n\t\t%d, %d, %s_params, %s_columns, %d },\n' % (
                name.upper(), name, c_string(text), len(params), len(columns), name, name, int(daemon)))
        c.write('};\n\nconst struct script_def scripts[SCRIPT_COUNT] = {\n')
        for name, text, keys, args, tail, sha in scripts:
            c.write('\t[SCRIPT_%s] = { "%s",\n%s,\n\t\t"%s", %d, %d },\n' % (
                name.upper(), name, c_string(text), sha, len(keys), len(args)))
        c.write('};\n')


if __name__ == "__main__":
    main()
