"""`meson install` into a scratch DESTDIR: the unit names the installed binary (the install
prefix, not a fixed /usr/local), passes `systemd-analyze verify` and scores at most 2.5 in
`systemd-analyze security --offline`; every page the README links is installed beside it; the
example config checks clean; the sysctl drop-in leaves the host's port range alone."""
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rcutil import REPO_ROOT

BUILD = REPO_ROOT / "build"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not (BUILD / "build.ninja").exists():
        pytest.skip("no build/ (make build)")
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(dest),
                        "--no-rebuild", "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    opts = json.loads(subprocess.run(["meson", "introspect", str(BUILD), "--buildoptions"],
                                     capture_output=True, text=True, timeout=60).stdout)
    o = {x["name"]: x["value"] for x in opts}
    prefix = Path(o["prefix"])
    return {"dest": dest, "prefix": prefix, "bindir": prefix / o["bindir"],
            "docdir": prefix / o["datadir"] / "doc" / "roomcast",
            "unit": dest / prefix.relative_to("/") / "lib/systemd/system/roomcast.service"}


def under(dest, path):
    return dest / Path(path).relative_to("/")


def test_unit_names_the_installed_binary(installed):
    unit = installed["unit"].read_text()
    exec_start = re.search(r"^ExecStart=(\S+)", unit, re.M).group(1)
    assert exec_start == str(installed["bindir"] / "roomcast"), exec_start
    assert under(installed["dest"], exec_start).exists()
    assert not re.search(r"@[A-Z_]+@", unit), "an unreplaced @VAR@ in the unit"
    for key in ("Type=notify", "WatchdogSec=", "ExecReload=", "TimeoutStopSec="):
        assert key in unit
    docs = re.search(r"^Documentation=(.*)$", unit, re.M).group(1).split()
    for d in docs:
        assert under(installed["dest"], d.removeprefix("file://")).exists(), d


def test_systemd_analyze_verify_and_security(installed, tmp_path):
    sa = shutil.which("systemd-analyze")
    if not sa:
        pytest.skip("systemd-analyze not found")
    # The unit as installed, with its ExecStart pointing into the scratch tree (where the binary
    # really is: nothing is installed on this host).
    bindir = str(installed["bindir"])
    unit = tmp_path / "roomcast.service"
    unit.write_text(installed["unit"].read_text().replace(
        f"{bindir}/roomcast", str(under(installed["dest"], bindir) / "roomcast")))
    r = subprocess.run([sa, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stdout + r.stderr
    r = subprocess.run([sa, "security", "--offline=true", str(unit)], capture_output=True,
                       text=True, timeout=60)
    m = re.search(r"Overall exposure level for roomcast.service: ([0-9.]+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) <= 2.5, r.stdout


def test_every_page_the_readme_links_is_installed(installed):
    docdir = under(installed["dest"], installed["docdir"])
    readme = (docdir / "README.md").read_text()
    links = set(re.findall(r"\]\(([^)#:]+)\)", readme))
    assert links, "no relative links in the README?"
    missing = [ln for ln in links if not (docdir / ln).exists()]
    assert not missing, missing
    assert (docdir / "LICENSE").exists()


def test_examples_installed_and_the_config_checks_clean(installed):
    ex = under(installed["dest"], installed["docdir"]) / "examples"
    assert (ex / "roomcast.env").exists()
    binary = under(installed["dest"], installed["bindir"]) / "roomcast"
    r = subprocess.run([str(binary), "--check-config", "--config", str(ex / "roomcast.conf")],
                       capture_output=True, text=True, timeout=10, env={})
    assert r.returncode == 0, r.stderr
    assert "drain-notice-secs = 5" in r.stdout


def test_sysctl_dropin_leaves_the_port_range_alone(installed):
    dropin = under(installed["dest"], installed["prefix"]) / "lib/sysctl.d/60-roomcast.conf"
    active = [ln for ln in dropin.read_text().splitlines()
              if ln.strip() and not ln.lstrip().startswith("#")]
    assert active and not [ln for ln in active if "ip_local_port_range" in ln], active
