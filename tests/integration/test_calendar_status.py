"""`hotlinectl calendar status`: how far ahead the working-day calendar reaches, judged
at fixed dates (--now), never today's: mid-year (no warning), the 60-day warning
from 2 November, 7 December, the last day, an expired calendar, a directory with a
gap year, an empty one, a file that does not parse (FILE:LINE: reason), the config's
[calendar] dir and utc_offset_minutes, usage errors and --help.

Runs only the built hotlinectl (HOTLINE_BUILD, conftest's `binaries`); starts no
server. Never: writes into deploy/calendar (scratch directories are pytest's).
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "deploy" / "calendar"
EXAMPLE_CONF = REPO / "deploy" / "hotlined.conf.example"
SANITIZER_MARKS = ("Sanitizer", "runtime error:")

REMEDY = ("counted Monday to Friday, without holidays or make-up working days (调休), "
          "until {dir}/{year}.cal is added from the State Council's notice and hotlined "
          "is reloaded (kill -HUP).")


def ctl(binaries, *args, cwd=REPO):
    r = subprocess.run([str(binaries.hotlinectl), *map(str, args)], cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    for mark in SANITIZER_MARKS:
        assert mark not in r.stderr, r.stderr
    return r


def status(binaries, *args, **kw):
    return ctl(binaries, "calendar", "status", *args, **kw)


def calendar_dir(tmp_path, years, name="cal"):
    """A scratch calendar directory holding the shipped files of these years."""
    d = tmp_path / name
    d.mkdir()
    for year in years:
        shutil.copy(SHIPPED / f"{year}.cal", d / f"{year}.cal")
    return d


def test_help(binaries):
    r = status(binaries, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(
        "usage: hotlinectl [-c FILE] calendar status [--dir DIR] [--now YYYY-MM-DD]\n")
    for word in ("--warn-days N", "--check", "default 60", "调休"):
        assert word in r.stdout
    r = ctl(binaries, "--help")
    assert r.returncode == 0
    assert "calendar status [--dir DIR] [--now YYYY-MM-DD] [--warn-days N] [--check]" in r.stdout


def test_mid_year_no_warning(binaries):
    for args in ((), ("--check",)):
        r = status(binaries, "--now", "2026-06-01", *args)
        assert r.returncode == 0, r.stderr
        assert r.stdout == (
            "calendar: deploy/calendar (utc offset +480 min)\n"
            "years known: 2021 2022 2023 2024 2025 2026\n"
            "last day covered: 2026-12-31 (213 days after 2026-06-01)\n"
            "OK: the warning starts on 2026-11-02 (--warn-days 60)\n")
        assert r.stderr == ""


def test_warning_from_2_november(binaries):
    assert status(binaries, "--now", "2026-11-01", "--check").returncode == 0
    r = status(binaries, "--now", "2026-11-02", "--check")
    assert r.returncode == 1
    assert "WARNING: the calendar ends in 59 days." in r.stdout
    # --warn-days moves the start; 0 warns only once expired
    assert status(binaries, "--now", "2026-12-07", "--warn-days", "24", "--check").returncode == 0
    assert status(binaries, "--now", "2026-12-07", "--warn-days", "25", "--check").returncode == 1
    assert status(binaries, "--now", "2026-12-31", "--warn-days", "0", "--check").returncode == 0


def test_7_december_warns(binaries):
    r = status(binaries, "--now", "2026-12-07")
    assert r.returncode == 0, r.stderr  # a warning is not a failure without --check
    assert r.stdout == (
        "calendar: deploy/calendar (utc offset +480 min)\n"
        "years known: 2021 2022 2023 2024 2025 2026\n"
        "last day covered: 2026-12-31 (24 days after 2026-12-07)\n"
        "WARNING: the calendar ends in 24 days. Deadlines that run past 2026-12-31 are "
        + REMEDY.format(dir="deploy/calendar", year=2027) + "\n")
    r = status(binaries, "--now", "2026-12-07", "--check")
    assert r.returncode == 1
    assert "WARNING" in r.stdout

    r = status(binaries, "--now", "2026-12-31", "--check")
    assert r.returncode == 1
    assert "last day covered: 2026-12-31 (today)\n" in r.stdout
    assert "WARNING: the calendar ends today." in r.stdout


def test_expired(binaries):
    r = status(binaries, "--now", "2027-03-01")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "calendar: deploy/calendar (utc offset +480 min)\n"
        "years known: 2021 2022 2023 2024 2025 2026\n"
        "last day covered: 2026-12-31 (60 days before 2027-03-01)\n"
        "EXPIRED: there is no calendar file for 2027, the year of 2027-03-01. Deadlines are "
        + REMEDY.format(dir="deploy/calendar", year=2027) + "\n")
    assert status(binaries, "--now", "2027-03-01", "--check").returncode == 1
    assert status(binaries, "--now", "2027-01-01", "--check").returncode == 1


def test_gap_year(binaries, tmp_path):
    d = calendar_dir(tmp_path, (2021, 2022, 2024, 2025, 2026))
    r = status(binaries, "--dir", d, "--now", "2026-06-01", "--check")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        f"calendar: {d} (utc offset +480 min)\n"
        "years known: 2021 2022 2024 2025 2026\n"
        "years missing between: 2023 (deadlines in that year count Monday to Friday only)\n"
        "last day covered: 2026-12-31 (213 days after 2026-06-01)\n"
        "OK: the warning starts on 2026-11-02 (--warn-days 60)\n")

    # before the gap, the calendar ends with the year before it
    r = status(binaries, "--dir", d, "--now", "2022-12-07", "--check")
    assert r.returncode == 1
    assert "last day covered: 2022-12-31 (24 days after 2022-12-07)\n" in r.stdout
    assert f"until {d}/2023.cal is added" in r.stdout

    # inside it, the calendar has expired although later years are known
    r = status(binaries, "--dir", d, "--now", "2023-02-01", "--check")
    assert r.returncode == 1
    assert "last day covered: 2022-12-31 (32 days before 2023-02-01)\n" in r.stdout
    assert "EXPIRED: there is no calendar file for 2023" in r.stdout


def test_empty_directory(binaries, tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    (d / "README.md").write_text("no calendar here\n")
    r = status(binaries, "--dir", d, "--now", "2026-12-07", "--check")
    assert r.returncode == 1
    assert "years known: none (no *.cal file)\n" in r.stdout
    assert "last day covered: none before 2026-12-07\n" in r.stdout
    assert "EXPIRED: there is no calendar file for 2026" in r.stdout


def test_invalid_file_names_file_and_line(binaries, tmp_path):
    d = calendar_dir(tmp_path, (2025, 2026))
    (d / "2027.cal").write_text("# a guess, not a notice\nyear 2027\nholiday 2027-02-30 春节\n")
    for args in ((), ("--check",)):
        r = status(binaries, "--dir", d, "--now", "2026-12-07", *args)
        assert r.returncode == 1
        assert r.stdout == ""
        assert r.stderr == f"{d}/2027.cal:3: no such day 2027-02-30\n"

    r = status(binaries, "--dir", tmp_path / "nowhere", "--now", "2026-12-07")
    assert r.returncode == 1
    assert r.stderr == f"[calendar] dir {tmp_path / 'nowhere'}: No such file or directory\n"


def test_config_dir_and_offset(binaries, tmp_path):
    d = calendar_dir(tmp_path, (2025, 2026))
    conf = EXAMPLE_CONF.read_text()
    assert "dir = deploy/calendar\nutc_offset_minutes = 480\n" in conf
    conf = conf.replace("dir = deploy/calendar\nutc_offset_minutes = 480\n",
                        f"dir = {d}\nutc_offset_minutes = -300\n")
    path = tmp_path / "hotlined.conf"
    path.write_text(conf)
    path.chmod(0o600)  # it holds the example's tokens

    r = ctl(binaries, "-c", path, "calendar", "status", "--now", "2026-06-01")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"calendar: {d} (utc offset -300 min)\nyears known: 2025 2026\n")

    # --dir wins over the config's dir; the config's offset stays
    r = ctl(binaries, "-c", path, "calendar", "status", "--dir", SHIPPED, "--now", "2026-06-01")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"calendar: {SHIPPED} (utc offset -300 min)\n"
                               "years known: 2021 2022 2023 2024 2025 2026\n")

    r = ctl(binaries, "-c", tmp_path / "missing.conf", "calendar", "status")
    assert r.returncode == 1
    assert "missing.conf" in r.stderr


@pytest.mark.parametrize("args", [
    ("--now", "2026-12-7"),
    ("--now", "2026-02-30"),
    ("--now", "1969-12-31"),
    ("--warn-days", "-1"),
    ("--warn-days", "sixty"),
    ("--warn-days", "3661"),
    ("--bogus",),
    ("extra",),
])
def test_usage_errors(binaries, args):
    r = status(binaries, *args)
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert r.stdout == ""
    assert r.stderr != ""


def test_unknown_calendar_command(binaries):
    r = ctl(binaries, "calendar", "show")
    assert r.returncode == 2
    assert "unknown command 'show'" in r.stderr
    assert ctl(binaries, "calendar").returncode == 2
