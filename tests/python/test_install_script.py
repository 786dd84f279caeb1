"""scripts/install-python.sh writes an iotsim.pth naming <build dir>/python, idempotently. The
tests point it at a temporary site-packages directory (IOTSIM_SITE_PACKAGES), never the system one."""
import os
import pathlib
import subprocess
import sys

import pytest

from support import IOTSIM_PYTHONPATH, ROOT

SCRIPT = ROOT / "scripts" / "install-python.sh"
BUILD = pathlib.Path(IOTSIM_PYTHONPATH).parent  # the build directory this session imports iotsim from


def install(site, *args, cwd=ROOT):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(IOTSIM_SITE_PACKAGES=str(site), IOTSIM_PYTHON=sys.executable)
    return subprocess.run(["bash", str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=60)


def import_location(site):
    """Where a fresh interpreter without PYTHONPATH imports iotsim from, given the .pth files in `site`
    (and only those: -S keeps an iotsim.pth in the system site-packages, e.g. from
    scripts/run-lab.sh, out of the way)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "import site, sys; site.addsitedir(sys.argv[1]); import iotsim; print(iotsim.__file__)"
    p = subprocess.run([sys.executable, "-S", "-c", code, str(site)], capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return pathlib.Path(p.stdout.strip()).parent


@pytest.mark.skipif(not (BUILD / "python" / "iotsim").is_dir(), reason="iotsim is not imported from a build directory")
def test_the_script_points_python_at_the_build_and_is_idempotent(tmp_path):
    site = tmp_path / "site-packages"
    first = install(site, BUILD)
    assert first.returncode == 0, first.stderr
    pth = site / "iotsim.pth"
    assert pth.read_text() == f"{BUILD / 'python'}\n"
    assert "wrote" in first.stdout and str(pth) in first.stdout
    assert import_location(site) == BUILD / "python" / "iotsim"
    again = install(site, os.path.relpath(BUILD, ROOT))  # a relative build dir names the same place
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout
    assert pth.read_text() == f"{BUILD / 'python'}\n"
    assert sorted(p.name for p in site.iterdir()) == ["iotsim.pth"]  # no temporary files left


def fake_build(root):
    pkg = root / "python" / "iotsim"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "_core.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    return root


def test_the_script_switches_to_another_build_directory(tmp_path):
    site = tmp_path / "site-packages"
    a, b = fake_build(tmp_path / "build-a"), fake_build(tmp_path / "build-b")
    assert install(site, a).returncode == 0
    switched = install(site, b)
    assert switched.returncode == 0, switched.stderr
    assert "updated" in switched.stdout and str(a / "python") in switched.stdout
    assert (site / "iotsim.pth").read_text() == f"{b / 'python'}\n"
    assert import_location(site) == b / "python" / "iotsim"


@pytest.mark.parametrize("make", [lambda t: t / "nowhere", lambda t: (t / "empty-build").mkdir() or t / "empty-build"],
                         ids=["missing build dir", "build without the module"])
def test_the_script_refuses_a_build_directory_without_the_module_and_writes_nothing(tmp_path, make):
    site = tmp_path / "site-packages"
    p = install(site, make(tmp_path))
    assert p.returncode != 0
    assert "install-python.sh:" in p.stderr
    assert not (site / "iotsim.pth").exists()


def test_the_script_rejects_unknown_options():
    p = install("/nonexistent", "--frobnicate")
    assert p.returncode == 2 and "unknown option" in p.stderr
