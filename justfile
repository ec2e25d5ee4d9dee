# realstack's command surface. Each recipe is one call into the `realstack` CLI (src/cli),
# so the justfile stays thin and every behaviour is tested in the library.

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

# The tests with N tap jobs (`just test-n 4 tests/auth-token.test.ts`)
test-n n *args:
    @{{realstack}} test --jobs "$@"

# The quick loop: everything but tests/serial/, one job per core, stop at the first failure
test-fast *args:
    @{{realstack}} test --set parallel-safe --jobs auto --bail "$@"

# Only tests/serial/, one file at a time
test-serial *args:
    @{{realstack}} test --set serial --jobs 1 "$@"

# Everything but tests/serial/, one job per core
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

# Test data the services hold ("TEST " names, or made by a run) and resources of dead runs
test-cleanup-show *args:
    @{{realstack}} cleanup --show "$@"

# Delete that test data through the services' admin APIs, and reap the dead runs' resources
test-cleanup *args:
    @{{realstack}} cleanup "$@"

# Engine, images, health, admin credential, a token round trip, the last run's failures
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

# The services' logs (`just logs -f auth`, `just logs --tail 50`)
logs *args:
    @{{realstack}} logs "$@"

# Wait until the running stack is healthy, or fail with the culprit's exit code and logs
ensure-services-ready:
    @{{realstack}} wait

# Check this machine: Node, Docker, compose, images, PostgreSQL binaries
doctor:
    @{{realstack}} doctor

# Build the docker engine's images (official or local stand-ins), cached
images *args:
    @{{realstack}} images "$@"

# The tests on a fresh stack with the coverage spy; then stop, harvest, reports, gates, down
test-sidecar-coverage *args:
    @{{realstack}} test-coverage "$@"

# Coverage of a running instrumented stack: snapshot | report | check
coverage *args:
    @{{realstack}} coverage "$@"
