"""`iotsim serve` and the command line: user errors are one clear line and exit code 2."""
import os
import pathlib
import socket
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("IOTSIM_BIN", str(ROOT / "build" / "dev" / "iotsim"))


def iotsim(*args, timeout=20):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def assert_one_line_exit_2(p, needle):
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert needle in lines[0], lines[0]
    assert "terminate called" not in p.stderr and "Traceback" not in p.stderr


def test_version_and_help_exit_0():
    v = iotsim("--version")
    assert v.returncode == 0 and v.stdout.startswith("iotsim ")
    h = iotsim("--help")
    assert h.returncode == 0 and "iotsim serve" in h.stdout and "iotsim run" in h.stdout
    sh = iotsim("serve", "--help")
    assert sh.returncode == 0
    for flag in ("--data-dir", "--host", "--mqtt-port", "--mqtts-port", "--http-port", "--https-port", "--wss-port"):
        assert flag in sh.stdout


def test_an_unknown_flag_is_one_line_and_exit_2(tmp_path):
    assert_one_line_exit_2(iotsim("serve", "--data-dir", tmp_path, "--colour", "red"), "unrecognised option")


def test_an_unknown_command_is_one_line_and_exit_2():
    assert_one_line_exit_2(iotsim("fly"), "unknown command 'fly'")


def test_a_port_out_of_range_is_one_line_and_exit_2(tmp_path):
    assert_one_line_exit_2(iotsim("serve", "--data-dir", tmp_path, "--mqtt-port", "70000"), "--mqtt-port")


def test_a_non_numeric_port_is_one_line_and_exit_2(tmp_path):
    assert_one_line_exit_2(iotsim("serve", "--data-dir", tmp_path, "--mqtt-port", "abc"), "mqtt-port")


def test_a_busy_port_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = iotsim("serve", "--data-dir", tmp_path, "--mqtt-port", port, "--mqtts-port", 0, "--http-port", 0, "--https-port", 0, "--wss-port", 0)
    assert_one_line_exit_2(p, f"cannot listen for mqtt on 127.0.0.1:{port}")


def test_an_unwritable_data_dir_is_one_line_and_exit_2(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores permissions: use a path under a regular file
            target = tmp_path / "file"
            target.write_text("x")
            data_dir = target / "data"
        else:
            data_dir = ro / "data"
        assert_one_line_exit_2(iotsim("serve", "--data-dir", data_dir, "--mqtt-port", 0, "--mqtts-port", 0, "--http-port", 0, "--https-port", 0, "--wss-port", 0),
                               "data directory")
    finally:
        ro.chmod(0o700)


def test_a_corrupt_ca_in_the_data_dir_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "root-CA.crt").write_text("not a certificate")
    (tmp_path / "root-CA.key").write_text("not a key")
    assert_one_line_exit_2(iotsim("serve", "--data-dir", tmp_path, "--mqtt-port", 0, "--mqtts-port", 0, "--http-port", 0, "--https-port", 0, "--wss-port", 0),
                           "root-CA.crt")


def test_an_invalid_host_is_one_line_and_exit_2(tmp_path):
    assert_one_line_exit_2(iotsim("serve", "--data-dir", tmp_path, "--host", "not-an-ip", "--mqtt-port", 0,
                                  "--mqtts-port", 0, "--http-port", 0, "--https-port", 0, "--wss-port", 0), "--host")
