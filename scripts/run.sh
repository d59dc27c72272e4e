#!/usr/bin/env bash
# The README's first command: installs what is missing, brings the two-host lab up, and starts the console on
# http://127.0.0.1:5080 with its embedded default store (SQLite + key ring under .data/), in the Production profile
# (no stack traces or request details on error pages). --dev starts it in Development instead.
set -euo pipefail
environment=Production
for arg in "$@"; do
  case "$arg" in
    --dev) environment=Development ;;
    *) echo "usage: $0 [--dev]" >&2; exit 2 ;;
  esac
done
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
echo "Console: http://127.0.0.1:5080 ($environment)  (Ctrl-C stops it; 'dotnet run --project src/PgHaConsole.Lab -- down' removes the lab)"
echo "With an empty store the console prints a setup code below and keeps it in $PgHaConsole__DataDirectory/setup-code."
# dotnet run of the build output: the console maps the build's static web assets itself outside Development.
exec dotnet run --no-build --project src/PgHaConsole.Web --no-launch-profile -- --urls http://127.0.0.1:5080 --environment "$environment"
