#!/usr/bin/env python3
"""List C++ function definitions longer than N lines (default 80).

Usage: scripts/long_functions.py [--max N] [--check] PATH...

PATH is a file or a folder (searched recursively for .cc, .cpp, .h, .hpp). One line per long
function, longest first: `path:line: Name: L lines`. Exit status 0, or with --check 1 when any
function is over the limit (for `make test`); 2 on a usage error.

A function's length is counted from the first line of its signature (template line included)
through the line of its closing brace, inclusive: what a reader scrolls through.

This is not a C++ parser; it is a brace matcher with heuristics that are good enough for this
code base (Google style, clang-formatted):
- Comments, string and character literals (raw strings included) and preprocessor lines are
  blanked first, so braces inside them do not count.
- Only braces at "container" level are looked at: file scope, or inside a namespace, class,
  struct, union or `extern "C"` block. Everything inside a function body (lambdas, local classes)
  counts towards that function.
- The text since the previous `;`, `{` or `}` at that level is the header of a `{`. The header is
  a container when it starts (after any `template <...>`) with namespace/class/struct/union or is
  `extern "C"`; it is skipped (an enum or a data initializer such as `kTable[] = {...}` or a
  namespace-scope lambda) when it starts with `enum` or has a top-level `=` that is not part of
  `operator=`/`==`/...; it is a function when it has a `(`. Anything else is skipped.
- A constructor's member initializer written with braces (`: a_{x}, b_{y} {`) is recognised by
  the `{` following a name after the `) :` of the parameter list, and is not mistaken for the body.
- The name is the (qualified) identifier before the first top-level `(` of the header, so
  `Foo::Bar`, `~Foo`, `operator()`; a macro such as TEST(A, B) is reported as TEST.
Known misses: a function whose signature is produced by a macro without parentheses, and K&R or
trailing-`requires` oddities; none occur here.
"""

import argparse
import os
import re
import signal
import sys

EXTENSIONS = ('.cc', '.cpp', '.h', '.hpp')
CONTAINER_RE = re.compile(r'^(?:inline\s+)?(?:namespace|class|struct|union)\b')
EXTERN_C_RE = re.compile(r'^extern\s+"C"\s*$')
TEMPLATE_RE = re.compile(r'^template\s*<')
NAME_RE = re.compile(
    r'((?:[A-Za-z_]\w*\s*(?:<[^()]*?>)?\s*::\s*)*'
    r'(?:operator\s*(?:\(\s*\)|[^\s(]+)|~?[A-Za-z_]\w*))\s*\(')
# Words after the parameter list that may stand directly before the body's `{`.
BODY_QUALIFIERS = {'const', 'noexcept', 'override', 'final', 'try', 'volatile', 'mutable'}


def blank_non_code(text):
    """Returns text with comments, literals and preprocessor lines replaced by spaces.

    Newlines are kept so that offsets map to the same line numbers.
    """
    out = []
    i, n = 0, len(text)
    at_line_start = True
    while i < n:
        c = text[i]
        if at_line_start and c in ' \t':
            out.append(c)
            i += 1
            continue
        if at_line_start and c == '#':
            # Preprocessor line, with backslash continuations.
            while i < n and text[i] != '\n':
                if text[i] == '\\' and i + 1 < n and text[i + 1] == '\n':
                    out.append(' \n')
                    i += 2
                    continue
                out.append(' ')
                i += 1
            continue
        at_line_start = False
        if c == '\n':
            out.append(c)
            at_line_start = True
            i += 1
        elif text.startswith('//', i):
            while i < n and text[i] != '\n':
                out.append(' ')
                i += 1
        elif text.startswith('/*', i):
            end = text.find('*/', i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:end]))
            i = end
        elif c == 'R' and i + 1 < n and text[i + 1] == '"' and (i == 0 or not
                                                                 (text[i - 1].isalnum() or
                                                                  text[i - 1] == '_')):
            m = re.match(r'R"([^()\\ ]{0,16})\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            close = ')' + m.group(1) + '"'
            end = text.find(close, i + m.end())
            end = n if end < 0 else end + len(close)
            out.append('""' + re.sub(r'[^\n]', ' ', text[i + 2:end]))
            i = end
        elif c in '"\'':
            # A digit separator (1'000'000) is not a character literal.
            if c == '\'' and i > 0 and text[i - 1].isalnum() and i + 1 < n and \
                    text[i + 1].isalnum():
                out.append(' ')
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != '\n':
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r'[^\n]', ' ', text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def strip_template_prefix(header):
    """Removes leading `template <...>` clauses (nested angle brackets allowed)."""
    while TEMPLATE_RE.match(header):
        depth, k = 0, header.index('<')
        while k < len(header):
            if header[k] == '<':
                depth += 1
            elif header[k] == '>':
                depth -= 1
                if depth == 0:
                    break
            k += 1
        header = header[k + 1:].lstrip()
    return header


def has_top_level_assign(header):
    """True when the header has an `=` outside parentheses that is not part of an operator."""
    depth = 0
    for k, ch in enumerate(header):
        if ch in '([':
            depth += 1
        elif ch in ')]':
            depth -= 1
        elif ch == '=' and depth == 0:
            before = header[k - 1] if k > 0 else ''
            after = header[k + 1] if k + 1 < len(header) else ''
            if before in '=!<>+-*/%&|^' or after == '=':
                continue
            if re.search(r'operator\s*$', header[:k]):
                continue
            return True
    return False


def classify(header):
    """Returns 'container', 'function' or 'skip' for the text before a `{`."""
    h = strip_template_prefix(' '.join(header.split()))
    if EXTERN_C_RE.match(h) or CONTAINER_RE.match(h) and '(' not in h.split('{')[0]:
        return 'container'
    if h.startswith('enum') or has_top_level_assign(h):
        return 'skip'
    if '(' in h:
        return 'function'
    return 'skip'


def function_name(header):
    h = strip_template_prefix(' '.join(header.split()))
    m = NAME_RE.search(h)
    return re.sub(r'\s+', '', m.group(1)) if m else '?'


def in_member_initializer(header):
    """True when a `{` after this header opens a braced member initializer, not the body.

    That is: the parameter list is closed, a `:` follows it, and the `{` comes right after a name
    (or a `>` of a template name) that is not a qualifier such as const or noexcept.
    """
    h = header.rstrip()
    close = h.rfind(')')
    if close < 0 or not re.search(r'\)\s*(?:[a-z]+\s*)*:(?!:)', h):
        return False
    m = re.search(r'([A-Za-z_]\w*|>)$', h)
    return bool(m) and m.group(1) not in BODY_QUALIFIERS


def skip_group(code, i):
    """Returns the index just after the `}` that matches the `{` at code[i]."""
    depth = 0
    n = len(code)
    while i < n:
        if code[i] == '{':
            depth += 1
        elif code[i] == '}':
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def functions_in(code):
    """Yields (start_offset, end_offset, name) for every function definition in blanked code."""
    header_start = 0
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c == ';':
            header_start = i + 1
        elif c == '}':
            header_start = i + 1  # end of a container
        elif c == '{':
            header = code[header_start:i]
            kind = classify(header)
            if kind == 'container':
                header_start = i + 1
            elif kind == 'function' and in_member_initializer(header):
                i = skip_group(code, i)
                continue
            else:
                end = skip_group(code, i)
                if kind == 'function':
                    # The signature starts at its first non-blank character.
                    start = header_start + (len(header) - len(header.lstrip()))
                    yield start, end, function_name(header)
                i = end
                header_start = end
                # A trailing `;` (class body, initializer) ends the statement as usual.
                continue
        i += 1


def long_functions(path, limit):
    with open(path, encoding='utf-8', errors='replace') as f:
        code = blank_non_code(f.read())
    for start, end, name in functions_in(code):
        first = code.count('\n', 0, start) + 1
        last = code.count('\n', 0, end - 1) + 1
        length = last - first + 1
        if length > limit:
            yield first, name, length


def source_files(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
        elif os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(EXTENSIONS):
                        yield os.path.join(root, name)
        else:
            raise FileNotFoundError(p)


def main(argv):
    parser = argparse.ArgumentParser(description='List C++ functions longer than N lines.')
    parser.add_argument('--max', type=int, default=80, help='longest allowed (default 80)')
    parser.add_argument('--check', action='store_true', help='exit 1 when any is longer')
    parser.add_argument('paths', nargs='+', help='files or folders')
    args = parser.parse_args(argv)
    found = []
    try:
        for path in source_files(args.paths):
            for line, name, length in long_functions(path, args.max):
                found.append((length, path, line, name))
    except FileNotFoundError as e:
        print(f'long_functions: no such file or folder: {e}', file=sys.stderr)
        return 2
    found.sort(key=lambda r: (-r[0], r[1], r[2]))
    for length, path, line, name in found:
        print(f'{path}:{line}: {name}: {length} lines')
    print(f'{len(found)} function(s) over {args.max} lines')
    return 1 if args.check and found else 0


if __name__ == '__main__':
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    sys.exit(main(sys.argv[1:]))
