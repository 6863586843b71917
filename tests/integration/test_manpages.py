"""The man pages (man/*.scd, built with scdoc) against the programs' --help.

Owns: that every program the build makes has its page, that man(1) renders it, and
that a page names exactly the long options and commands its program's --help names,
so a page cannot fall behind an option added, renamed or removed.
Never: needs servers.
"""

import re

import pytest

from conftest import REPO, run

# program: (its path in the build, man section)
PROGRAMS = {
    "hotlined": ("daemon/hotlined", 8),
    "hotlinectl": ("tools/hotlinectl", 8),
    "hotline-agent": ("tools/hotline-agent", 1),
    "hotline-dept": ("tools/hotline-dept", 1),
    "hotline-loadgen": ("tools/hotline-loadgen", 1),
    "hotline-stats": ("tools/hotline-stats", 1),
}
LONG_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z]")
# hotlinectl's and hotline-stats' "commands:" entries: "  route load [--check] FILE"
COMMAND = re.compile(r"^  ([a-z]+(?: [a-z]+)?)(?= |$)", re.M)


def built(binaries):
    return {name: binaries.build / path for name, (path, _) in PROGRAMS.items()
            if (binaries.build / path).exists()}


def help_text(exe):
    r = run([exe, "--help"])
    assert r.returncode == 0, f"{exe} --help: exit {r.returncode}\n{r.stderr}"
    return r.stdout


def page(binaries, name):
    return binaries.build / "man" / f"{name}.{PROGRAMS[name][1]}"


def test_every_program_has_a_page(binaries):
    programs = built(binaries)
    assert set(programs) >= {"hotlined", "hotlinectl", "hotline-agent", "hotline-dept",
                             "hotline-loadgen"}
    for name in programs:
        path = page(binaries, name)
        assert path.exists(), f"{path} was not built (is scdoc installed? deploy/install-deps)"
        r = run(["man", "-l", path], env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"})
        assert r.returncode == 0 and "NAME" in r.stdout and name in r.stdout, r.stderr
    for source in (REPO / "man").glob("*.scd"):
        name = source.name.split(".")[0]
        assert name in PROGRAMS, f"{source.name}: no such program"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_page_names_the_options_of_help(binaries, name):
    exe = built(binaries).get(name)
    if exe is None:
        assert name == "hotline-stats", f"{name} is not built"
        assert not page(binaries, name).exists(), "a page installed for a program not built"
        return
    helped = help_text(exe)
    source = (REPO / "man" / f"{name}.{PROGRAMS[name][1]}.scd").read_text()
    in_help = set(LONG_OPTION.findall(helped))
    in_page = set(LONG_OPTION.findall(source))
    assert in_help - in_page == set(), f"{name}: --help has options the page lacks"
    assert in_page - in_help == set(), f"{name}: the page has options --help lacks"
    if "\ncommands:\n" in helped:
        commands = helped.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
        for command in set(COMMAND.findall(commands)):
            assert f"*{command}" in source, f"{name}: command {command!r} missing from the page"
