// Rules engine micro-benchmark (wall time measured here, in bench/, never in unit tests):
// evaluations per second of a typical telemetry rule on a small JSON payload, single core.
//   SELECT temp, deviceId FROM 'sensors/+/data' WHERE temp > 30
// Half the messages match (temp 35) and half do not (temp 25), so both WHERE outcomes count.
// Reports wall-clock and CPU-time rates: on a shared machine the process may get a fraction of a
// core, and evaluations per CPU second is then the figure that measures the engine.
// Usage: iotsim_rules_bench [seconds]   (default 3)
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "iotsim/common/rng.hpp"
#include "iotsim/rules/evaluate.hpp"
#include "iotsim/rules/statement.hpp"

using namespace iotsim;
using namespace iotsim::rules;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
    auto parsed = parse("SELECT temp, deviceId FROM 'sensors/+/data' WHERE temp > 30");
    if (!parsed.ok()) {
        std::fprintf(stderr, "%s\n", parsed.error().to_string().c_str());
        return 1;
    }
    const Statement statement = std::move(parsed).value();
    const std::string hot = R"({"temp":35,"deviceId":"sensor-0042","humidity":41.5,"battery":87})";
    const std::string cold = R"({"temp":25,"deviceId":"sensor-0042","humidity":41.5,"battery":87})";
    const Message messages[2] = {{"sensors/sensor-0042/data", hot},
                                 {"sensors/sensor-0042/data", cold}};

    Rng rng(1);
    EvalContext ctx{rng};
    EvalOutcome out;
    std::uint64_t evaluations = 0;
    std::uint64_t matches = 0;
    std::size_t bytes = 0;
    const std::clock_t cpu_start = std::clock();
    const auto start = Clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
        for (int i = 0; i < 10'000; ++i) {
            evaluate(statement, messages[i & 1], ctx, out);
            matches += out.matched() ? 1 : 0;
            bytes += out.payload.size();
        }
        evaluations += 10'000;
        elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    }
    const double cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    std::printf(
        "rules: %.0f evaluations/s wall, %.0f evaluations per CPU second (%llu evaluations, %llu "
        "matched, "
        "%.2f s wall, %.2f s CPU, %zu output bytes)\n",
        static_cast<double>(evaluations) / elapsed, static_cast<double>(evaluations) / cpu,
        static_cast<unsigned long long>(evaluations), static_cast<unsigned long long>(matches),
        elapsed, cpu, bytes);
    return 0;
}
