#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "iotsim/sim/simulation.hpp"

namespace iotsim::sim {

/// A bad scenario file. The message names the field by its JSON path, e.g.
/// `devices[1].publish.qos: must be 0 or 1, got 2`; `iotsim run` prints it and exits with code 2.
class ScenarioError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct FleetSpec {
    std::string prefix;
    std::size_t count = 0;
    DeviceSpec device;
};

/// A scenario: topology, devices, fleets, workloads, faults, duration and checks (format
/// versions 1 and 2, documented in sim/scenarios/README.md; version 2 adds the registry:
/// policies, things, certificates, devices' `certificate` and registry faults).
struct Scenario {
    std::string name;
    std::string description;
    SimulationOptions options;
    std::vector<DeviceSpec> devices;
    std::vector<FleetSpec> fleets;
    std::vector<Fault> faults;
    /// The fault plan's registry changes (scheduled after `faults`: at equal times they apply
    /// after the other faults).
    std::vector<RegistryFault> registry_faults;
    std::optional<SwarmOptions> swarm;
    Duration duration = minutes(1);
};

/// Parses a scenario document (JSON). Unknown fields are errors (a typo must not be ignored).
[[nodiscard]] Scenario parse_scenario(std::string_view json);
/// Reads and parses a file; ScenarioError names the file when it cannot be read.
[[nodiscard]] Scenario load_scenario(const std::filesystem::path& path);
/// Builds the simulation the scenario describes (devices, fleets, faults, swarm), not yet run.
[[nodiscard]] std::unique_ptr<Simulation> build_simulation(const Scenario& scenario);

/// "250ms", "30s", "10m", "1h", "2d", "1.5s", "0"; throws ScenarioError naming `path`.
[[nodiscard]] Duration parse_duration(std::string_view text, std::string_view path);

}  // namespace iotsim::sim
