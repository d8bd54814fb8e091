#!/usr/bin/env python3
"""Fails when an #include points up the layers, or across a layer.

troupe's folders are layers (ARCHITECTURE.md); each may include only itself
and the layers below it, so a dependency cycle between folders cannot come
back unnoticed:

    0  lib/include        the public headers (troupe/...)
    1  lib/protocol       messages, atoms, actor interfaces, schemas
    2  lib/common         process, executable, config and logging utilities
  2.5  lib/net            credentials, TLS, the transport and its frame guard
    3  store, scheduler   (siblings: neither includes the other)
    4  actors             control store, node daemon
    5  lib/core           the client core and the public API's implementation
  5.5  lib/pool, lib/queue, lib/tune, lib/serve  the libraries: on the public API only
    6  tools, tests       (anything below)

Samples are what users write: they include only public headers. Casts
between actor handles happen only in lib/protocol/handles.hpp.

Sources outside the tests (not *.test.cpp) stay under MAX_LINES lines: a
file past it holds more than one component and is split by theme.

Usage: layering.py SOURCE_ROOT
"""
import os
import re
import sys

LAYERS = {
    'lib/include': 0,
    'lib/protocol': 1,
    'lib/common': 2,
    'lib/net': 2.5,
    'store': 3,
    'scheduler': 3,
    'actors': 4,
    'lib/core': 5,
    'lib/pool': 5.5,
    'lib/queue': 5.5,
    'lib/tune': 5.5,
    'lib/serve': 5.5,
    'tools': 6,
    'tests': 6,
}
# The libraries (pool, queue, ...) prove the core: like samples, they
# include only public headers and their own files.
LIBRARY_LAYER = 5.5
# Generated headers, by the folder that generates them.
GENERATED = {'task.capnp.h': 'lib/protocol', 'object_meta_generated.h': 'store'}
SOURCE = re.compile(r'\.(c|h)(pp|\+\+)?$')
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
CAST_ADAPTER = 'lib/protocol/handles.hpp'
MAX_LINES = 500
SIZE_CHECKED = ['lib', 'actors', 'scheduler', 'store', 'tools']
# Files allowed over MAX_LINES while they are being split (none today); each
# leaves this set with its split.
OVERSIZED = set()


def folder_of(path):
    """Returns the layer folder a repository path lies in, or None."""
    for folder in sorted(LAYERS, key=len, reverse=True):
        if path == folder or path.startswith(folder + '/'):
            return folder
    return None


def target_folder(include, including_folder):
    if include.startswith('troupe/'):
        return 'lib/include'
    if include in GENERATED:
        return GENERATED[include]
    if '/' not in include:
        return including_folder  # a file beside it
    return folder_of(include)


def check_file(root, path, problems):
    folder = folder_of(path)
    in_samples = path.startswith('samples/')
    with open(os.path.join(root, path), encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if 'actor_cast' in line and path != CAST_ADAPTER and folder is not None:
                problems.append(f'{path}:{number}: casts a handle: use handle_cast '
                                f'({CAST_ADAPTER}), or better a typed handle')
            m = INCLUDE.match(line)
            if not m:
                continue
            include = m.group(1)
            if in_samples:
                if '/' in include and not include.startswith('troupe/'):
                    problems.append(f'{path}:{number}: a sample includes "{include}": '
                                    'samples use only the public headers (troupe/...)')
                continue
            if folder is None:
                continue
            if LAYERS[folder] == LIBRARY_LAYER and '/' in include \
                    and not include.startswith('troupe/') and folder_of(include) != folder:
                problems.append(f'{path}:{number}: the library {folder} includes "{include}": '
                                'libraries use only the public headers (troupe/...)')
                continue
            target = target_folder(include, folder)
            if target is None:
                problems.append(f'{path}:{number}: "{include}" is in no layer')
                continue
            if target == folder:
                continue
            if LAYERS[target] >= LAYERS[folder]:
                problems.append(f'{path}:{number}: {folder} (layer {LAYERS[folder]}) '
                                f'includes "{include}" from {target} (layer '
                                f'{LAYERS[target]}): includes point only down')


def check_sizes(root, problems):
    """Adds a problem for each non-test source over MAX_LINES lines."""
    for top in SIZE_CHECKED:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not SOURCE.search(name) or name.endswith('.test.cpp'):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), root)
                with open(os.path.join(root, path), encoding='utf-8') as f:
                    lines = sum(1 for _ in f)
                if lines <= MAX_LINES:
                    if path in OVERSIZED:
                        print(f'note: {path} has {lines} lines now: take it off OVERSIZED')
                elif path not in OVERSIZED:
                    problems.append(f'{path}: {lines} lines, over {MAX_LINES}: split it '
                                    'by theme')


MAX_FUNCTION_LINES = 80
STRING = re.compile(r'"(\\.|[^"\\])*"|\'(\\.|[^\'\\])*\'')
TYPE_OR_NAMESPACE = re.compile(r'^(template\s*<.*>\s*)?(namespace|struct|class|union|enum|extern)\b')
SIGNATURE_END = re.compile(r'(\)|\bconst|\bnoexcept|\boverride|\bmutable|->[^=]*)$')


def function_lengths(text):
    """Yields (first line, lines) of each function defined at namespace scope.

    A heuristic for our clang-formatted sources: strings and comments are
    dropped and braces matched; a brace block at namespace scope whose
    statement reads like a signature (not a namespace, type or initializer)
    is a function, counted from its signature's first line to its closing
    brace."""
    stack = []          # kinds of the open blocks: 'ns', 'fn', 'other'
    starts = []         # first line of each open 'fn'
    statement, first = '', None
    in_comment = False
    for number, raw in enumerate(text.split('\n'), 1):
        line = raw
        if in_comment:
            if '*/' not in line:
                continue
            line, in_comment = line.split('*/', 1)[1], False
        line = STRING.sub('""', line).split('//', 1)[0]
        while '/*' in line:
            head, _, tail = line.partition('/*')
            if '*/' in tail:
                line = head + tail.split('*/', 1)[1]
            else:
                line, in_comment = head, True
        if line.lstrip().startswith('#'):
            continue
        at_scope = all(kind == 'ns' for kind in stack)
        for ch in line:
            if ch == '{':
                text_so_far = statement.strip()
                if not at_scope:
                    kind = 'other'
                elif re.match(r'^namespace\b', text_so_far) or text_so_far.startswith('extern'):
                    kind = 'ns'
                elif (TYPE_OR_NAMESPACE.match(text_so_far) or text_so_far.endswith('=')
                      or not SIGNATURE_END.search(text_so_far)):
                    kind = 'other'
                else:
                    kind = 'fn'
                    starts.append(first if first is not None else number)
                stack.append(kind)
                statement, first = '', None
            elif ch == '}':
                kind = stack.pop() if stack else 'ns'
                if kind == 'fn':
                    begin = starts.pop()
                    yield begin, number - begin + 1
                statement, first = '', None
            elif ch == ';':
                statement, first = '', None
            else:
                if first is None and not ch.isspace():
                    first = number
                statement += ch
            at_scope = all(kind == 'ns' for kind in stack)
        statement += ' '


def check_function_lengths(root, problems):
    """Adds a problem for each function over MAX_FUNCTION_LINES lines."""
    for top in SIZE_CHECKED:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith('.cpp') or name.endswith('.test.cpp'):
                    continue
                path = os.path.relpath(os.path.join(dirpath, name), root)
                with open(os.path.join(root, path), encoding='utf-8') as f:
                    text = f.read()
                for first, lines in function_lengths(text):
                    if lines > MAX_FUNCTION_LINES:
                        problems.append(f'{path}:{first}: a function of {lines} lines, over '
                                        f'{MAX_FUNCTION_LINES}: name its steps')


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else '.'
    problems = []
    checked = 0
    for top in list(LAYERS) + ['samples']:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if SOURCE.search(name):
                    path = os.path.relpath(os.path.join(dirpath, name), root)
                    check_file(root, path, problems)
                    checked += 1
    check_sizes(root, problems)
    check_function_lengths(root, problems)
    for p in sorted(set(problems)):
        print(p)
    print(f'{checked} files checked, {len(set(problems))} problems')
    return 1 if problems or checked == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
