"""`iotsim diagram`, `iotsim grade` and `iotsim outputs` run the Python package next to the binary."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("IOTSIM_BIN", str(ROOT / "build" / "dev" / "iotsim"))


def iotsim(*args, timeout=300):
    if not (pathlib.Path(BIN).parent / "python" / "iotsim").is_dir():
        pytest.skip("this build has no Python package next to the binary")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=ROOT)


def test_iotsim_diagram_draws_a_scenario_as_svg(tmp_path):
    out = tmp_path / "world.svg"
    p = iotsim("diagram", ROOT / "sim" / "scenarios" / "lamp_shadow.json", "--until", "60s", "-o", out)
    assert p.returncode == 0, p.stderr
    text = out.read_text()
    if "<svg" not in text:
        pytest.fail(f"not an SVG: {text[:200]}")
    for component in ("Device gateway", "Message broker", "Device Shadow", "Rules engine", "Registry"):
        assert component in text


def test_iotsim_diagram_refuses_a_missing_scenario_with_exit_2(tmp_path):
    p = iotsim("diagram", tmp_path / "nope.json", "-o", tmp_path / "x.svg")
    assert p.returncode == 2
    assert len(p.stderr.strip().splitlines()) == 1


def test_iotsim_grade_gives_the_reference_solution_full_marks(tmp_path):
    import shutil
    submission = tmp_path / "reference"
    shutil.copytree(ROOT / "labs" / "iot-core-lab" / "reference", submission)
    key = "course-key-for-tests"
    env = {**os.environ, "IOTSIM_COURSE_KEY": key,
           "PYTHONPATH": str(pathlib.Path(BIN).parent / "python")}
    made = subprocess.run(["/usr/bin/python3", submission / "make_evidence.py", submission, submission / "evidence.json"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert made.returncode == 0, made.stderr
    keyfile = tmp_path / "course.key"
    keyfile.write_text(key)
    p = iotsim("grade", "--lab", ROOT / "labs" / "iot-core-lab", "--key-file", keyfile, "--out", tmp_path / "out",
               "-j", "2", submission)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "reference: 100/100" in p.stdout.replace(".0", "")


def test_iotsim_outputs_summarises_and_prints_a_data_directorys_stand_ins(tmp_path):
    (tmp_path / "sqs").mkdir()
    (tmp_path / "sqs" / "alerts.jsonl").write_text('{"body":"{\\"t\\":1}"}\n{"body":"two"}\n')
    (tmp_path / "s3" / "bucket" / "a").mkdir(parents=True)
    (tmp_path / "s3" / "bucket" / "a" / "k.json").write_bytes(b'{"x":1}')
    p = iotsim("outputs", "--data-dir", tmp_path)
    assert p.returncode == 0, p.stderr
    assert "sqs         alerts  (2 entries)" in p.stdout
    assert "s3          bucket/a/k.json  (1 object)" in p.stdout
    p = iotsim("outputs", "--data-dir", tmp_path, "sqs", "alerts")
    assert p.returncode == 0, p.stderr
    assert '"body": "two"' in p.stdout
    p = iotsim("outputs", "--data-dir", tmp_path, "s3", "bucket/a/k.json")
    assert p.stdout == '{"x":1}'


def test_iotsim_outputs_refuses_an_unknown_kind_resource_or_directory_with_exit_2(tmp_path):
    for args in (("queues",), ("sqs", "nope"), ):
        p = iotsim("outputs", "--data-dir", tmp_path, *args)
        assert p.returncode == 2, (args, p.stdout)
        assert p.stderr.startswith("iotsim outputs: ")
    p = iotsim("outputs", "--data-dir", tmp_path / "missing")
    assert p.returncode == 2
    assert "no data directory" in p.stderr


def test_iotsim_report_runs_notebooks_headless_into_markdown_with_figures(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    good = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A lab"),
        nbformat.v4.new_code_cell("import iotsim\nsim = iotsim.Simulation(seed=7)\nsim.run_until(1)\n"
                                  "print('seed:', sim.seed)\nprint('trace_hash:', sim.trace_hash)"),
        nbformat.v4.new_code_cell("from IPython.display import SVG\nSVG('<svg xmlns=\"http://www.w3.org/2000/svg\">"
                                  "<text>six components</text></svg>')")])
    bad = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('student bug')")])
    nbformat.write(good, tmp_path / "good.ipynb")
    nbformat.write(bad, tmp_path / "bad.ipynb")
    out = tmp_path / "report"
    p = iotsim("report", tmp_path / "good.ipynb", "--out", out)
    assert p.returncode == 0, p.stderr
    text = (out / "good.md").read_text()
    assert "# A lab" in text and "seed: 7" in text and "![figure 1](good-1.svg)" in text
    assert "six components" in (out / "good-1.svg").read_text()
    assert "seed: `7`" in (out / "index.md").read_text()
    assert (out / "good.ipynb").is_file()
    p = iotsim("report", tmp_path / "bad.ipynb", "--out", out)
    assert p.returncode == 1
    assert "This cell failed" in (out / "bad.md").read_text() and "student bug" in (out / "bad.md").read_text()
    p = iotsim("report", tmp_path / "missing.ipynb")
    assert p.returncode == 2 and "no such notebook" in p.stderr
