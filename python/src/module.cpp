// iotsim._core: the C++ core for Python. Converts arguments and owns no logic (ARCHITECTURE.md).
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_sim(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = R"pbdoc(iotsim's C++ core: the deterministic simulator driving the real broker.)pbdoc";
    bind_sim(m);
}
