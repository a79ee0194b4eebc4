#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Strict checker for the Prometheus text exposition format 0.0.4.

Stricter than Prometheus itself where lazyfreectl should be exact:
  - every line ends in \\n, no blank lines, no trailing spaces;
  - '# HELP' and '# TYPE' at most once per family, before its samples;
  - a family's samples are contiguous; no series (name + labels) twice;
  - metric and label names match the spec's grammar; label values use only
    the escapes \\\\, \\" and \\n; values are floats; counters are >= 0;
  - every sample belongs to a family that has both HELP and TYPE.

Usage: promcheck.py [FILE]   (stdin without FILE); exit 1 with
"promcheck: line N: reason" on the first error. As a module,
parse(text) returns [(name, {label: value}, float)] or raises ValueError.
"""
import math
import re
import sys

METRIC = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
TYPES = ('counter', 'gauge', 'histogram', 'summary', 'untyped')


def _labels(s, pos, lineno):
    """Parse '{a="x",b="y"}' starting at s[pos] == '{'; return (dict, end)."""
    labels = {}
    pos += 1
    while True:
        if s[pos:pos + 1] == '}':
            return labels, pos + 1
        m = LABEL.match(s, pos)
        if not m:
            raise ValueError(f'line {lineno}: bad label name at column {pos + 1}')
        name = m.group(0)
        pos = m.end()
        if s[pos:pos + 2] != '="':
            raise ValueError(f'line {lineno}: expected =" after label {name}')
        pos += 2
        val = []
        while True:
            if pos >= len(s):
                raise ValueError(f'line {lineno}: unterminated label value')
            c = s[pos]
            if c == '\\':
                esc = s[pos + 1:pos + 2]
                if esc not in ('\\', '"', 'n'):
                    raise ValueError(f'line {lineno}: bad escape \\{esc}')
                val.append('\n' if esc == 'n' else esc)
                pos += 2
            elif c == '"':
                pos += 1
                break
            elif c == '\n':
                raise ValueError(f'line {lineno}: raw newline in label value')
            else:
                val.append(c)
                pos += 1
        if name in labels:
            raise ValueError(f'line {lineno}: label {name} twice')
        labels[name] = ''.join(val)
        if s[pos:pos + 1] == ',':
            pos += 1
            if s[pos:pos + 1] == '}':
                raise ValueError(f'line {lineno}: trailing comma in labels')
        elif s[pos:pos + 1] != '}':
            raise ValueError(f'line {lineno}: expected , or }} after label value')


def _value(s, lineno):
    if s in ('+Inf', '-Inf', 'NaN'):
        return float(s.replace('Inf', 'inf').replace('NaN', 'nan'))
    if not re.fullmatch(r'[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?', s):
        raise ValueError(f'line {lineno}: bad value {s!r}')
    return float(s)


def parse(text):
    if not text.endswith('\n'):
        raise ValueError('missing final newline')
    helps, types, done, seen = {}, {}, set(), set()
    current = None
    samples = []
    for lineno, line in enumerate(text[:-1].split('\n'), 1):
        if line == '':
            raise ValueError(f'line {lineno}: blank line')
        if line != line.rstrip():
            raise ValueError(f'line {lineno}: trailing white space')
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                if not METRIC.fullmatch(name):
                    raise ValueError(f'line {lineno}: bad metric name {name!r}')
                if name in done or (current and current != name and name in helps):
                    raise ValueError(f'line {lineno}: {parts[1]} for {name} after its samples')
                table = helps if parts[1] == 'HELP' else types
                if name in table:
                    raise ValueError(f'line {lineno}: second {parts[1]} for {name}')
                if len(parts) < 4 or not parts[3]:
                    raise ValueError(f'line {lineno}: empty {parts[1]} for {name}')
                if parts[1] == 'TYPE' and parts[3] not in TYPES:
                    raise ValueError(f'line {lineno}: unknown type {parts[3]!r}')
                if parts[1] == 'HELP' and re.search(r'\\[^\\n]', parts[3]):
                    raise ValueError(f'line {lineno}: bad escape in HELP')
                table[name] = parts[3]
                if current and current != name:
                    done.add(current)
                current = name
            continue
        m = METRIC.match(line)
        if not m:
            raise ValueError(f'line {lineno}: bad sample line')
        name = m.group(0)
        pos = m.end()
        labels = {}
        if line[pos:pos + 1] == '{':
            labels, pos = _labels(line, pos, lineno)
        if line[pos:pos + 1] != ' ':
            raise ValueError(f'line {lineno}: expected one space before value')
        rest = line[pos + 1:].split(' ')
        if len(rest) > 2 or not rest[0]:
            raise ValueError(f'line {lineno}: bad value/timestamp')
        value = _value(rest[0], lineno)
        if len(rest) == 2 and not re.fullmatch(r'-?\d+', rest[1]):
            raise ValueError(f'line {lineno}: bad timestamp')
        if name not in types or name not in helps:
            raise ValueError(f'line {lineno}: sample {name} without HELP and TYPE')
        if name in done or name != current:
            raise ValueError(f'line {lineno}: samples of {name} not contiguous')
        if types[name] == 'counter' and (math.isnan(value) or value < 0):
            raise ValueError(f'line {lineno}: negative counter {name}')
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ValueError(f'line {lineno}: duplicate series {name}{labels}')
        seen.add(key)
        samples.append((name, labels, value))
    for name in list(helps) + list(types):
        if name not in helps or name not in types:
            raise ValueError(f'family {name}: HELP and TYPE must both be given')
    return samples


def main():
    text = open(sys.argv[1]).read() if len(sys.argv) > 1 else sys.stdin.read()
    try:
        samples = parse(text)
    except ValueError as e:
        print(f'promcheck: {e}', file=sys.stderr)
        return 1
    print(f'promcheck: {len(samples)} samples OK')
    return 0


if __name__ == '__main__':
    sys.exit(main())
