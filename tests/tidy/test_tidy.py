"""The tidy check itself: each forbidden construct in core/ or sim/ is reported, and the network
host may use Asio and clocks. (A check that cannot fail proves nothing.)"""
import pathlib
import subprocess
import sys

TIDY = pathlib.Path(__file__).with_name("tidy.py")

OFFENCES = {
    "reads_clock.cpp": "auto t = std::chrono::steady_clock::now();",
    "wall_clock.cpp": "auto t = std::chrono::system_clock::now();",
    "c_time.cpp": "long t = time(nullptr);",
    "rand.cpp": "int r = std::rand();",
    "random_device.cpp": "std::random_device rd;",
    "mt.cpp": "std::mt19937 gen(1);",
    "distribution.cpp": "std::uniform_int_distribution<int> d(0, 9);",
    "sleeps.cpp": "std::this_thread::sleep_for(std::chrono::seconds(1));",
    "thread.cpp": "std::thread t([] {});",
    "asio.cpp": "#include <boost/asio.hpp>",
    "fixme.cpp": "// FIXME later",
}


def run(root):
    return subprocess.run([sys.executable, str(TIDY), str(root)], capture_output=True, text=True)


def test_every_forbidden_construct_in_core_is_reported(tmp_path):
    core = tmp_path / "core" / "broker" / "src"
    core.mkdir(parents=True)
    for name, line in OFFENCES.items():
        (core / name).write_text(line + "\n")
    p = run(tmp_path)
    assert p.returncode == 1
    for name in OFFENCES:
        assert f"core/broker/src/{name}:1:" in p.stdout, (name, p.stdout)


def test_the_same_in_sim_is_reported(tmp_path):
    sim = tmp_path / "sim" / "src"
    sim.mkdir(parents=True)
    (sim / "x.cpp").write_text("auto t = std::chrono::steady_clock::now();\n")
    assert run(tmp_path).returncode == 1


def test_the_network_host_may_use_asio_and_clocks(tmp_path):
    net = tmp_path / "core" / "net" / "src"
    net.mkdir(parents=True)
    (net / "server.cpp").write_text("#include <boost/asio.hpp>\nauto t = std::chrono::steady_clock::now();\n")
    p = run(tmp_path)
    assert p.returncode == 0, p.stdout


def test_allowed_lookalikes_pass(tmp_path):
    core = tmp_path / "core" / "x"
    core.mkdir(parents=True)
    (core / "ok.cpp").write_text("X509_VERIFY_PARAM_set_time(param, t);\nint runtime(int);\n// steady_clock::now in a comment\n")
    assert run(tmp_path).returncode == 0
