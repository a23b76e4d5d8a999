#!/bin/sh
# Regenerates the README's fault-to-rollback table and docs/images/fault-to-rollback.svg from the detection
# scenarios (1,000 rollouts per row unless RUNS says otherwise). Takes several minutes on two cores.
set -eu
cd "$(dirname "$0")/.."
GATESTREAM_SCENARIO_RUNS="${RUNS:-1000}" GATESTREAM_WRITE_README=1 \
  dotnet test tests/GateStream.Scenarios.Tests -c Release \
  --filter "FullyQualifiedName~FaultToRollbackReport" --logger "console;verbosity=detailed"
