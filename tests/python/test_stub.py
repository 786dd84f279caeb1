"""python/iotsim/_core.pyi matches what python/src/bind_sim.cpp binds, so the two cannot drift:
the same classes, the same public members of each kind, and the same parameters (names,
keyword-only markers and defaults, read from pybind11's signature docstrings)."""
import ast
import inspect
import pathlib

import pytest

import iotsim
import iotsim._core as core
from support import ROOT

STUB = ROOT / "python" / "iotsim" / "_core.pyi"
CLASSES = ("Simulation", "DeviceContext")


def public(names):
    return {n for n in names if not n.startswith("_")}


@pytest.fixture(scope="module")
def stub():
    return ast.parse(STUB.read_text(), filename=str(STUB))


def stub_classes(tree):
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def stub_members(cls):
    """name -> (kind, FunctionDef) for a stub class; kind is method, property or staticmethod."""
    out = {}
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            decorators = {d.id for d in node.decorator_list if isinstance(d, ast.Name)}
            kind = "property" if "property" in decorators else "staticmethod" if "staticmethod" in decorators \
                else "method"
            out[node.name] = (kind, node)
    return out


def bound_kind(cls, name):
    attr = inspect.getattr_static(cls, name)
    if isinstance(attr, property):
        return "property"
    if isinstance(attr, staticmethod):
        return "staticmethod"
    return "method"


def test_the_stub_declares_exactly_the_public_types_the_module_binds(stub):
    assert public(stub_classes(stub)) == public(n for n in dir(core) if isinstance(getattr(core, n), type))
    assert public(dir(core)) == public(stub_classes(stub))  # and nothing else public


@pytest.mark.parametrize("name", CLASSES)
def test_the_stub_lists_exactly_the_public_members_of_each_class(stub, name):
    declared = public(stub_members(stub_classes(stub)[name]))
    bound = public(dir(getattr(core, name)))
    assert declared == bound, f"only in the stub: {declared - bound}; only bound: {bound - declared}"


@pytest.mark.parametrize("name", CLASSES)
def test_each_member_is_a_property_method_or_staticmethod_as_bound(stub, name):
    cls = getattr(core, name)
    for member, (kind, _) in stub_members(stub_classes(stub)[name]).items():
        if not member.startswith("__"):
            assert kind == bound_kind(cls, member), f"{name}.{member}"


def normalise(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def params(fn, *, skip_self):
    """[(name, kind, default)] of an ast function; kind is positional, keyword or var_keyword."""
    a = fn.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    out = [(p.arg, "positional", d) for p, d in zip(positional, defaults)]
    out += [(p.arg, "keyword", d) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        out.append(("**", "var_keyword", None))  # the name of **kwargs is not part of the interface
    if skip_self and out and out[0][0] == "self":
        out = out[1:]
    return [(n, k, None if d is None else normalise(ast.literal_eval(d))) for n, k, d in out]


def bound_signature(cls, member):
    """pybind11's first docstring line, `name(self: T, a: int, *, b: str = 'x') -> R`, as ast;
    for a method the package adds in Python (iotsim/shadow.py), its real signature."""
    attr = getattr(cls, member)
    if inspect.isfunction(attr):
        return ast.parse(f"def {member}{inspect.signature(attr)}: ...").body[0]
    first = attr.__doc__.splitlines()[0]
    assert first.startswith(member + "("), first
    return ast.parse(f"def {first}: ...").body[0]


@pytest.mark.parametrize("name", CLASSES)
def test_each_method_takes_the_bound_parameters_keyword_only_markers_and_defaults(stub, name):
    cls = getattr(core, name)
    members = stub_members(stub_classes(stub)[name])
    checked = 0
    for member, (kind, fn) in members.items():
        if kind == "property" or member == "__repr__":
            continue
        if member == "__init__" and "__init__" not in vars(cls):
            continue
        declared = params(fn, skip_self=kind != "staticmethod")
        bound = params(bound_signature(cls, member), skip_self=kind != "staticmethod")
        assert declared == bound, f"{name}.{member}"
        checked += 1
    assert checked >= (4 if name == "DeviceContext" else 20)


def test_the_stub_is_valid_python_with_a_docstring_for_each_fault_method(stub):
    sim = stub_members(stub_classes(stub)["Simulation"])
    for fault in ("partition", "crash_device", "crash_broker", "degrade_link", "clock_skew", "swarm"):
        assert ast.get_docstring(sim[fault][1]), fault


def test_the_package_reexports_the_bound_types():
    assert iotsim.Simulation is core.Simulation
    assert iotsim.DeviceContext is core.DeviceContext
    assert set(iotsim.__all__) == {"Simulation", "DeviceContext", "ScenarioError", "ShadowError", "DataClient",
                                   "RuleError", "Outputs", "read_outputs", "LocalServer", "trace_frame",
                                   "load_scenario"}
    assert all(hasattr(iotsim, n) for n in iotsim.__all__)


def test_a_built_package_ships_the_same_stub_next_to_the_module():
    built = pathlib.Path(core.__file__).with_name("_core.pyi")
    if not built.exists():
        pytest.skip(f"{built} not there yet: CMake copies the stub on the next build")
    assert built.read_text() == STUB.read_text()
