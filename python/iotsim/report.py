"""Run the lab's notebooks headless and write what they show as a readable report.

    python3 -m iotsim.report notebooks/02_architecture.ipynb notebooks/03_connect_a_device.ipynb \\
        --out lab-report

For each notebook: executes it with nbclient on this interpreter (so it sees this iotsim), then
writes ``<out>/<name>.ipynb`` (the executed notebook, to open in Jupyter), ``<out>/<name>.md``
(markdown cells, code, printed output, and every figure and diagram as a file next to it:
``<name>-<n>.png`` / ``.svg``) and an ``<out>/index.md`` linking them with each notebook's
seed and trace hash. Exit code 1 when a notebook fails (its report still shows where), 2 for bad
arguments. Needs Debian's python3-nbclient, python3-nbformat and python3-ipykernel.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import pathlib
import re
import sys
import tempfile


def _kernel_manager(kernel_dir: pathlib.Path):
    """A kernel on this very interpreter, seeing the same iotsim (not whatever "python3" names)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    package_parent = str(pathlib.Path(__file__).resolve().parent.parent)
    spec = kernel_dir / "kernels" / "iotsim-report"
    spec.mkdir(parents=True)
    env = {"PYTHONPATH": os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "iotsim report", "language": "python", "env": env}))
    return KernelManager(kernel_name="iotsim-report",
                         kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir / "kernels")]))


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def render_markdown(nb, name: str, out_dir: pathlib.Path) -> str:
    """The executed notebook as Markdown; figures are written next to it."""
    lines: list[str] = []
    figure = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines += [cell.source, ""]
            continue
        if cell.cell_type != "code":
            continue
        lines += ["```python", cell.source, "```", ""]
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "stream" and output.get("name") == "stdout":
                lines += ["```text", output.get("text", "").rstrip("\n"), "```", ""]
            elif kind == "error":
                trace = _strip_ansi("\n".join(output.get("traceback", [])))
                lines += ["**This cell failed:**", "", "```text", trace, "```", ""]
            elif kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if "image/svg+xml" in data or "image/png" in data:
                    figure += 1
                    if "image/svg+xml" in data:
                        path = out_dir / f"{name}-{figure}.svg"
                        svg = data["image/svg+xml"]
                        path.write_text(svg if isinstance(svg, str) else "".join(svg))
                    else:
                        path = out_dir / f"{name}-{figure}.png"
                        path.write_bytes(base64.b64decode(data["image/png"]))
                    lines += [f"![figure {figure}]({path.name})", ""]
                elif "text/plain" in data:
                    lines += ["```text", data["text/plain"], "```", ""]
    return "\n".join(lines)


def run(notebooks: list[pathlib.Path], out_dir: pathlib.Path, timeout_s: int = 600) -> int:
    import nbclient
    import nbformat

    out_dir.mkdir(parents=True, exist_ok=True)
    index = ["# iotsim lab report", "",
             "Each notebook was run headless; open the `.ipynb` files in Jupyter to rerun them.", ""]
    failed = 0
    for path in notebooks:
        name = path.stem
        nb = nbformat.read(path, as_version=4)
        status = "ran"
        with tempfile.TemporaryDirectory(prefix="iotsim-report-") as tmp:
            client = nbclient.NotebookClient(nb, km=_kernel_manager(pathlib.Path(tmp)), timeout=timeout_s,
                                             startup_timeout=60,
                                             resources={"metadata": {"path": str(path.resolve().parent)}})
            try:
                client.execute()
            except Exception as e:  # nbclient's CellExecutionError and kernel failures alike
                failed += 1
                status = f"FAILED ({type(e).__name__})"
        nbformat.write(nb, out_dir / f"{name}.ipynb")
        (out_dir / f"{name}.md").write_text(render_markdown(nb, name, out_dir))
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []) if o.get("output_type") == "stream")
        facts = [f"{k}: `{m.group(1)}`" for k in ("seed", "trace_hash")
                 if (m := re.search(rf"^{k}: (\S+)$", text, re.M))]
        index.append(f"- [{name}]({name}.md): {status}" + (f"; {', '.join(facts)}" if facts else ""))
        print(f"iotsim report: {path} {status} -> {out_dir / (name + '.md')}", flush=True)
    (out_dir / "index.md").write_text("\n".join(index) + "\n")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m iotsim.report",
                                     description="Run notebooks headless and write a Markdown report with figures.")
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("lab-report"))
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell (default 600)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        print(f"iotsim report: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    return run(args.notebooks, args.out, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
