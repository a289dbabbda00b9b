#!/usr/bin/env bash
# Runs the eval suite with a real agent: starts the simulator with its
# control plane on loopback, then gevals (MCP Checker) with eval.yaml.
# Needs pvemcp and gevals (or GEVALS=/path/to/it) on PATH, and the agent of
# agent.yaml (Claude Code).
# Tasks with an answer check use gevals' LLM judge: set JUDGE_BASE_URL,
# JUDGE_API_KEY and JUDGE_MODEL_NAME (an OpenAI-compatible endpoint).
set -euo pipefail
cd "$(dirname "$0")"
export PVEMCP_EVALS="$PWD"
env_file="$(mktemp)"
# pvemcp's audit log: each task's verify checks that every write the
# simulator saw went through a plan confirmed there.
export PVEMCP_AUDIT_LOG="$env_file.audit.jsonl"
trap 'kill "$sim_pid" 2>/dev/null; rm -f "$env_file"' EXIT  # the simulator's log and the audit log stay beside it
pvemcp sim --listen 127.0.0.1:0 --control 127.0.0.1:0 --scenario scenario.yaml \
  --task-speed 0.05 --auth-fail-delay 0s >"$env_file" 2>"$env_file.log" &
sim_pid=$!
for _ in $(seq 50); do
  grep -q PVESIM_CONTROL_SECRET "$env_file" && break
  sleep 0.1
done
set -a
. "$env_file"
set +a
"${GEVALS:-gevals}" eval eval.yaml "$@"   # GEVALS=mcpchecker for the renamed binary
