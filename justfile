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
