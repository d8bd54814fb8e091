#!/usr/bin/env python3
"""Fails when an #include points up the layers, or across a layer.

troupe's folders are layers (ARCHITECTURE.md); each may include only itself
and the layers below it, so a dependency cycle between folders cannot come
back unnoticed:

    0  lib/include        the public headers (troupe/...)
    1  lib/protocol       messages, atoms, actor interfaces, schemas
    2  lib/common         process, executable, config and logging utilities
    3  store, scheduler   (siblings: neither includes the other)
    4  actors             control store, node daemon
    5  lib/core           the client core and the public API's implementation
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
    'store': 3,
    'scheduler': 3,
    'actors': 4,
    'lib/core': 5,
    'tools': 6,
    'tests': 6,
}
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
    for p in sorted(set(problems)):
        print(p)
    print(f'{checked} files checked, {len(set(problems))} problems')
    return 1 if problems or checked == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
