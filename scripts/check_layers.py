#!/usr/bin/env python3
"""check_layers: fails when a file includes a header its layer may not use.

Every folder under src/ is one layer (one static library in meson). LAYERS below lists, for each
layer, the layers it may include from; it mirrors the `link_with` lists of src/*/meson.build, so a
wrong arrow is caught at review time as well as at link time (a header-only include never fails to
link). A header is attributed to a layer by its path: "owner/event_log.h" is owner's, and a bare
"catch_up.h" is the including file's own folder's (headers sit beside their sources).
System headers (<...>) are not checked.

  scripts/check_layers.py [--root DIR]   exit 0: clean; 1: violations (one line each); 2: misuse
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

LAYERS: dict[str, set[str]] = {
    "base": set(),
    "io": {"base"},
    "chat": {"base"},
    "auth": {"base"},  # JWT checks (libcrypto), roles
    "http": {"base"},
    "ws": {"base"},
    "sse": {"base", "http"},
    "longpoll": {"base"},
    "room": {"base", "chat", "auth", "io", "ws", "sse"},  # io: SharedBuf (the fan-out's buffers)
    "store": {"base"},
    "mesh": {"base", "io", "chat", "room"},
    "owner": {"base", "io", "mesh", "chat", "auth", "room", "store"},
    # Redis links over the loop (hiredis as RESP reader only), the publish script (--redis).
    "cluster": {"base", "io", "mesh", "chat", "auth", "room", "owner"},
    # The sessions: protocol handlers over the ConnOutput and RoomClient seams. mesh: only the
    # typed messages (the RoomClient's vocabulary). Never io (the loop), owner, store or server.
    "session": {"base", "auth", "chat", "http", "ws", "sse", "longpoll", "room", "mesh", "web"},
    "web": set(),
    "config": {"base", "http"},   # flags, config file, environment -> Config
    "service": {"base", "http"},  # sd_notify, process metrics
    "server": {"base", "auth", "io", "mesh", "chat", "http", "ws", "sse", "longpoll", "room", "store",
               "owner", "cluster", "session", "web", "config", "service"},
    "main": {"base", "server"},  # src/main.cc
}


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of_file(root: Path, path: Path) -> str | None:
    rel = path.relative_to(root)
    if rel.parts[0] == "src":
        return "main" if len(rel.parts) == 2 else rel.parts[1]
    return None


def layer_of_include(root: Path, including: Path, inc: str) -> str | None:
    parts = inc.split("/")
    if len(parts) == 2 and parts[0] in LAYERS:
        return parts[0]
    if len(parts) == 1 and (including.parent / inc).exists():
        return layer_of_file(root, including.parent / inc)
    return "?unresolved"


def check(root: Path) -> list[str]:
    problems = []
    files = sorted([*root.glob("src/**/*.h"), *root.glob("src/**/*.cc")])
    if not files:
        return [f"{root}: no sources under src/"]
    for path in files:
        layer = layer_of_file(root, path)
        if layer is None:
            problems.append(f"{path.relative_to(root)}: not in a known layer")
            continue
        if layer not in LAYERS:
            problems.append(f"{path.relative_to(root)}: folder '{layer}' is not listed in LAYERS")
            continue
        text = path.read_text(errors="replace")
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            target = layer_of_include(root, path, inc)
            line = text.count("\n", 0, m.start()) + 1
            where = f"{path.relative_to(root)}:{line}"
            if target is None or target.startswith("?"):
                problems.append(f'{where}: cannot place "{inc}" in a layer ({target})')
            elif target != layer and target not in LAYERS[layer]:
                problems.append(f'{where}: layer {layer} may not include "{inc}" (layer {target}); '
                                f"{layer} may use: {', '.join(sorted(LAYERS[layer])) or 'nothing'}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=Path(__file__).resolve().parents[1], type=Path)
    args = ap.parse_args()
    problems = check(args.root)
    for p in problems:
        print(f"check-layers: {p}")
    if problems:
        print(f"check-layers: {len(problems)} violation(s)", file=sys.stderr)
        return 1
    print("check-layers: every include respects the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
