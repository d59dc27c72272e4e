#!/usr/bin/env bash
# The README's first command: installs what is missing, brings the two-host lab up, and starts the console on
# http://127.0.0.1:5080 with its embedded default store (SQLite + key ring under .data/).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: run as root (sudo $0): the lab creates network namespaces" >&2
  exit 1
fi

bash scripts/setup-machine.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/PgHaConsole.Web -nologo -v:q
dotnet build src/PgHaConsole.Lab -nologo -v:q
dotnet run --no-build --project src/PgHaConsole.Lab -- up
export PgHaConsole__DataDirectory="${PgHaConsole__DataDirectory:-$root/.data}"
export PgHaConsole__Lab__LabFile="${PgHaConsole__Lab__LabFile:-$root/.lab/lab.json}"
echo "Console: http://127.0.0.1:5080  (Ctrl-C stops it; 'dotnet run --project src/PgHaConsole.Lab -- down' removes the lab)"
exec dotnet run --no-build --project src/PgHaConsole.Web --no-launch-profile -- --urls http://127.0.0.1:5080 --environment Development
