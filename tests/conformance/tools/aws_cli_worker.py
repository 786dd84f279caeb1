"""The AWS CLI v2 (Debian's awscli) in one long-lived process, for tests that run many commands.

Each line on stdin is a JSON list of arguments (what follows `aws` on a command line); each line
on stdout is {"rc", "stdout", "stderr"} of that command. The command runs through the CLI's own
driver (awscli.clidriver, what /usr/bin/aws runs): the same argument parsing, request
serialisation, SigV4 signing and output formatting, without starting Python for every command.
Credentials and settings come from this process's environment, as for `aws`.
"""

import contextlib
import io
import json
import sys

from awscli.clidriver import create_clidriver


def main() -> None:
    reply = sys.stdout
    for line in sys.stdin:
        args = json.loads(line)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = create_clidriver().main(args)
            except SystemExit as e:  # argument errors exit like the CLI does
                rc = e.code if isinstance(e.code, int) else 255
        reply.write(json.dumps({"rc": rc, "stdout": out.getvalue(), "stderr": err.getvalue()}) + "\n")
        reply.flush()


if __name__ == "__main__":
    main()
