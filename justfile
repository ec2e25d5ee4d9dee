# realstack's recipes (written by `npx realstack init`). Each is one call into the realstack
# CLI, so everything here also works as `npx realstack ...` without just.

set positional-arguments

realstack := "node bin/realstack.js"

# List the recipes
default:
    @just --list --unsorted

# Stack up if needed, readiness, the tap tests, then "N passed, N failed" (args go to tap)
test *args:
    @{{realstack}} test "$@"

# The tests with one tap job per core (serial tests still run alone)
test-parallel *args:
    @{{realstack}} test --jobs auto "$@"

# The tests with N tap jobs (`just test-n 4 test/some.test.js`)
test-n n *args:
    @{{realstack}} test --jobs "$@"

# The quick loop: everything but the serial tests, one job per core, stop at the first failure
test-fast *args:
    @{{realstack}} test --set parallel-safe --jobs auto --bail "$@"

# Only tap's serial tests, one file at a time
test-serial *args:
    @{{realstack}} test --set serial --jobs 1 "$@"

# Everything but the serial tests, one job per core
test-parallel-safe *args:
    @{{realstack}} test --set parallel-safe --jobs auto "$@"

# One file per worker, then a table of each file's results and time
test-by-module *args:
    @{{realstack}} test --by-module --jobs auto "$@"

# The smoke tests against an already running stack (URLs from the environment or .env)
test-smoke *args:
    @{{realstack}} test --set smoke "$@"

# Rewrite the golden snapshots from real responses (refused under CI=true)
test-golden-update *args:
    @{{realstack}} test --set golden --update-golden "$@"

# The tests on a fresh stack with the coverage spy; then stop, harvest, reports, gates, down
test-sidecar-coverage *args:
    @{{realstack}} test-coverage "$@"

# CI's shards as one run (`just test-merge shard-1 shard-2 ...`): JUnit, closing line, coverage and gates
test-merge *args:
    @{{realstack}} merge "$@"

# The same, one file at a time, recording which test ran which service lines (the impact map)
test-impact-record *args:
    @{{realstack}} test-coverage --per-test "$@"

# The tests a change needs, each with its reason, then run (`--since main`, or the changed files)
test-impact *args:
    @{{realstack}} test-impact "$@"

# Which tests a change needs and why, nothing run
impact-analysis *args:
    @{{realstack}} impact "$@"

# Run only the tests a change needs, and say how much of the suite was skipped
test-selective *args:
    @{{realstack}} test-impact --brief "$@"

# Test data the services hold (TEST names, or a run's) and resources of dead runs
test-cleanup-show *args:
    @{{realstack}} cleanup --show "$@"

# Delete that test data, and reap the dead runs' resources
test-cleanup *args:
    @{{realstack}} cleanup "$@"

# The load profiles: p50/p95/p99 and throughput against perf/baselines/ (`--update-baseline`, `--against REF`)
perf *args:
    @{{realstack}} perf "$@"

# The stack's PostgreSQL: `just db backup [--out FILE]`, `just db restore FILE` (schema checked first)
db *args:
    @{{realstack}} db "$@"

# More or fewer instances of a running service (`just scale api=3`), under a bounded load that counts lost requests
scale *args:
    @{{realstack}} scale "$@"

# Restart a service in place: `just restart api --rolling`, one instance at a time, each ready before the next
restart *args:
    @{{realstack}} restart "$@"

# Roll a service onto its current build (`just update api`), a new instance ready before each old one leaves
update *args:
    @{{realstack}} update "$@"

# Faults in a stack of its own: kill, pause, db-stop, db-latency, db-drop (all, or those named)
chaos *args:
    @{{realstack}} chaos "$@"

# Every gate in one table: security suite, flakiness, performance, coverage (exit 1 if any fails)
quality-gates *args:
    @{{realstack}} gates "$@"

# The security suite (realstack.json gates.security) passes, quarantine or not
security-gate:
    @{{realstack}} gates security

# The load profiles within their thresholds of the baselines
performance-gate:
    @{{realstack}} gates performance

# Flaky test runs within the budget (realstack.json gates.flakiness)
flakiness-gate:
    @{{realstack}} gates flakiness

# Each test's failure rate, runs, last failure and class (stack or test); also as HTML
flakiness-report *args:
    @{{realstack}} flakiness "$@"

# The tests the history set apart: they still run and are reported, but fail no run
quarantine-list *args:
    @{{realstack}} quarantine "$@"

# Only the quarantined tests, round after round; those that pass every round are released
fix-quarantined *args:
    @{{realstack}} fix-quarantined "$@"

# Engine, images, health, test data, your own checks, the last run's failures
diagnose-tests:
    @{{realstack}} diagnose

# Start a fresh stack and wait until it is ready (e.g. `just up --scale api=2`)
up *args:
    @{{realstack}} up "$@"

# Stop the stack gracefully and remove everything of its run
down:
    @{{realstack}} down

# Each service with its URL, health and engine (`just status --json`)
status *args:
    @{{realstack}} ps "$@"

# The variables the tests get, as shell exports: `(eval "$(just env)"; npx vitest run)`
env *args:
    @{{realstack}} env "$@"

# The services' logs (`just logs -f api`, `just logs --tail 50`)
logs *args:
    @{{realstack}} logs "$@"

# Wait until the running stack is healthy, or fail with the culprit's exit code and logs
ensure-services-ready:
    @{{realstack}} wait

# Check this machine: Node, Docker, compose, images, PostgreSQL binaries
doctor:
    @{{realstack}} doctor

# Pull or build the docker engine's images (stand-ins where none can be pulled), cached
images *args:
    @{{realstack}} images "$@"

# Coverage of a running instrumented stack: snapshot | harvest | report | check | overlay
coverage *args:
    @{{realstack}} coverage "$@"

# What realstack reads of the stack (`just config --explain`: why, and every rewrite)
config *args:
    @{{realstack}} config "$@"
