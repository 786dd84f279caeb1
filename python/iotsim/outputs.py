"""What topic rules' actions wrote to iotsim's local stand-ins, from the simulator or a server.

A server (``iotsim serve``) writes them under its data directory (see the README's table: s3/,
sqs/, sns/, dynamodb/, kinesis/, firehose/, cloudwatch/, timestream/, lambda/, http/); the
simulator keeps them in memory. :func:`read_outputs` and ``Simulation.action_outputs()`` give both
in one shape, :class:`Outputs`. On the command line::

    iotsim outputs [--data-dir .iotsim] [KIND [RESOURCE]] [--json]
"""
from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import pathlib
import sys
from typing import Any


@dataclasses.dataclass
class Outputs:
    """The local stand-ins' contents, per kind; each entry is what the stand-in stored.

    - ``s3``: ``"bucket/key"`` -> object bytes (the last write wins, as in S3)
    - ``sqs``, ``sns``, ``dynamodb``, ``kinesis``, ``firehose``, ``logs``, ``timestream``:
      resource name -> list of entries (dicts, oldest first; timestream's name is "db/table")
    - ``metrics``: list of CloudWatch metric data points
    - ``lambda_``: function name -> list of events it was invoked with (bytes)
    - ``http``: list of requests the http action sent (url, payload, status or error)
    - ``failures``: actions that failed (simulator only; on a server they reach the errorAction)
    """
    s3: dict[str, bytes] = dataclasses.field(default_factory=dict)
    sqs: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    sns: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    dynamodb: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    kinesis: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    firehose: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    logs: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    timestream: dict[str, list[dict]] = dataclasses.field(default_factory=dict)
    metrics: list[dict] = dataclasses.field(default_factory=list)
    lambda_: dict[str, list[bytes]] = dataclasses.field(default_factory=dict)
    http: list[dict] = dataclasses.field(default_factory=list)
    failures: list[dict] = dataclasses.field(default_factory=list)

    KINDS = ("s3", "sqs", "sns", "dynamodb", "kinesis", "firehose", "logs", "timestream", "metrics",
             "lambda", "http")

    def kind(self, name: str) -> Any:
        """One kind by its command-line name ("lambda" for ``lambda_``)."""
        if name not in self.KINDS:
            raise KeyError(f"unknown stand-in kind {name!r}; one of {', '.join(self.KINDS)}")
        return getattr(self, "lambda_" if name == "lambda" else name)

    @classmethod
    def from_records(cls, records: list[dict]) -> "Outputs":
        """From Simulation.action_records(): each record's ``entry`` is what the stand-in stored
        and ``stand_in`` the file a server would have stored it in, so the shape is
        read_outputs()'s."""
        out = cls()
        for r in records:
            if r.get("error") is not None:
                out.failures.append({k: r[k] for k in ("rule", "index", "type", "resource", "error")})
                if r["type"] != "lambda" or not r.get("stand_in"):
                    continue  # a server logs a function's event even when the function fails
            if r.get("stand_in"):
                entry = r.get("entry")
                out._add(r["stand_in"], json.loads(entry) if isinstance(entry, str) else entry, r["payload"])
        return out

    def _add(self, stand_in: str, entry: Any, payload: bytes) -> None:
        """One stored entry, by its file under the data directory (as read_outputs reads it)."""
        path = pathlib.PurePosixPath(stand_in)
        top = path.parts[0]
        if top == "s3":
            self.s3["/".join(path.parts[1:])] = payload
        elif top == "lambda":
            self.lambda_.setdefault(path.name, []).append(payload)
        elif top == "http":
            self.http.append(entry)
        elif stand_in == "cloudwatch/metrics.jsonl":
            self.metrics.append(entry)
        elif top == "timestream":
            self.timestream.setdefault(f"{path.parent.name}/{path.stem}", []).extend(
                entry if isinstance(entry, list) else [entry])
        elif top == "cloudwatch":
            self.logs.setdefault(path.stem, []).append(entry)
        elif top in ("sqs", "sns", "dynamodb", "kinesis", "firehose"):
            getattr(self, top).setdefault(path.stem, []).append(entry)


def _jsonl(path: pathlib.Path) -> list[dict]:
    entries = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


def read_outputs(data_dir: str | pathlib.Path) -> Outputs:
    """The stand-ins' contents under a server's data directory (``iotsim serve --data-dir``)."""
    root = pathlib.Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no data directory at {root}")
    out = Outputs()
    s3 = root / "s3"
    if s3.is_dir():
        for f in sorted(p for p in s3.rglob("*") if p.is_file()):
            out.s3[f.relative_to(s3).as_posix()] = f.read_bytes()
    for kind, sub in (("sqs", "sqs"), ("sns", "sns"), ("dynamodb", "dynamodb"), ("kinesis", "kinesis"),
                      ("firehose", "firehose"), ("logs", "cloudwatch/logs")):
        folder = root / sub
        if folder.is_dir():
            for f in sorted(folder.glob("*.jsonl")):
                getattr(out, kind)[f.stem] = _jsonl(f)
    timestream = root / "timestream"
    if timestream.is_dir():
        for f in sorted(timestream.glob("*/*.jsonl")):
            out.timestream[f"{f.parent.name}/{f.stem}"] = _jsonl(f)
    metrics = root / "cloudwatch" / "metrics.jsonl"
    if metrics.is_file():
        out.metrics = _jsonl(metrics)
    lambdas = root / "lambda"
    if lambdas.is_dir():
        for f in sorted(lambdas.glob("*.events.jsonl")):
            out.lambda_[f.name[: -len(".events.jsonl")]] = [
                base64.b64decode(e["event_base64"]) for e in _jsonl(f)]
    requests = root / "http" / "requests.jsonl"
    if requests.is_file():
        out.http = _jsonl(requests)
    return out


def _printable(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value.decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="iotsim outputs",
        description="Print what topic rules' actions wrote to the local stand-ins of a data directory.")
    parser.add_argument("kind", nargs="?", help="one of " + ", ".join(Outputs.KINDS) + " (default: a summary)")
    parser.add_argument("resource", nargs="?", help="a bucket/key, queue, topic, table, stream, log group or function")
    parser.add_argument("--data-dir", default=".iotsim", help="the server's --data-dir (default .iotsim)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    args = parser.parse_args(argv)
    try:
        outputs = read_outputs(args.data_dir)
        if args.kind is None:
            summary = {}
            for kind in Outputs.KINDS:
                content = outputs.kind(kind)
                if content:
                    summary[kind] = ({name: len(v) if isinstance(v, list) else 1 for name, v in content.items()}
                                     if isinstance(content, dict) else len(content))
            if args.json:
                print(json.dumps(summary, indent=2, sort_keys=True))
            elif not summary:
                print(f"no rule action has written anything under {args.data_dir}")
            else:
                for kind, content in summary.items():
                    if isinstance(content, dict):
                        for name, n in content.items():
                            print(f"{kind:<11} {name}  ({n} {'object' if kind == 's3' else 'entries'})")
                    else:
                        print(f"{kind:<11} ({content} entries)")
            return 0
        content = outputs.kind(args.kind)
        if args.resource is not None:
            if not isinstance(content, dict) or args.resource not in content:
                names = ", ".join(sorted(content)) if isinstance(content, dict) else "(none: not per resource)"
                print(f"iotsim outputs: no {args.kind} resource {args.resource!r}; there are: {names or '(none)'}",
                      file=sys.stderr)
                return 2
            content = content[args.resource]
        if args.kind == "s3" and args.resource is not None and not args.json:
            sys.stdout.buffer.write(content)
            return 0
        print(json.dumps(_printable(content), indent=2, sort_keys=True))
        return 0
    except (OSError, ValueError, KeyError) as e:
        print(f"iotsim outputs: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
