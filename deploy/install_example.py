#!/usr/bin/env python3
"""The example config as `meson install` ships it (build step, stdlib only).

usage: install_example.py IN OUT CALENDAR_DIR

Copies deploy/hotlined.conf.example with two lines changed for an installed system:
[calendar] dir becomes CALENDAR_DIR (the installed calendar files; the repository's
relative deploy/calendar means nothing there), and [postgres] conninfo drops
host=/tmp for libpq's default socket directory (Debian's PostgreSQL listens in
/var/run/postgresql, and hotlined.service's PrivateTmp hides /tmp's sockets).
Fails when either line is not there exactly once, so the example cannot drift away
from what this rewrites.
"""
import sys

REWRITES = {
    ("[calendar]", "dir"): None,  # CALENDAR_DIR, from the command line
    ("[postgres]", "conninfo"): "dbname=hotline",
}


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    src, out, calendar_dir = sys.argv[1:]
    values = dict(REWRITES)
    values[("[calendar]", "dir")] = calendar_dir
    done = {key: 0 for key in values}
    lines = []
    section = None
    with open(src, encoding="utf-8") as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("["):
                section = stripped
            key = (section, stripped.split("=", 1)[0].strip()) if "=" in stripped else None
            if key in values and not stripped.startswith((";", "#")):
                line = "%s = %s\n" % (key[1], values[key])
                done[key] += 1
            lines.append(line)
    for (section, key), count in done.items():
        if count != 1:
            sys.exit("install_example.py: %s: %s %s set %d times, expected once" % (src, section, key, count))
    with open(out, "w", encoding="utf-8") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
