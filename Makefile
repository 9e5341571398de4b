# Krill developer entry points. Everything runs with the Node.js the repo
# brings (node_modules/.bin/node), never the system's.
NODE_BIN := $(CURDIR)/node_modules/.bin
export PATH := $(NODE_BIN):$(PATH)

.PHONY: all deps build typecheck run test test-unit test-integration test-e2e coverage gen bench cluster cluster-down clean dist test-dist agent-image

all: build

# System packages (idempotent; needs root) and the npm packages of package-lock.json.
deps: node_modules/.installed
	hack/install-deps

node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit
	touch $@

build: node_modules/.installed dist/bin/krill-seqpacket dist/bin/krill-idmap dist/bin/krill-exec dist/bin/krill-spawn dist/bin/krill-notify
	tsc -p tsconfig.build.json

# conmon serves attach on SOCK_SEQPACKET sockets, which Node.js cannot open.
dist/bin/krill-seqpacket: cmd/krill-seqpacket/krill-seqpacket.c
	mkdir -p dist/bin
	cc -O2 -Wall -Wextra -Werror -o $@ $<

# The monitor of ExecSync commands (a subreaper around `runc exec --detach`): conmon's exec mode, minus its start-up.
dist/bin/krill-exec: cmd/krill-exec/krill-exec.c
	mkdir -p dist/bin
	cc -O2 -Wall -Wextra -Werror -o $@ $<

# krilld's spawn server: children start from this small process, not from a fork() of the whole daemon.
dist/bin/krill-spawn: cmd/krill-spawn/krill-spawn.c
	mkdir -p dist/bin
	cc -O2 -Wall -Wextra -Werror -o $@ $<

# ID-mapped mounts for user-namespaced pods: mount_setattr(2) is in neither Node.js nor util-linux 2.38.
dist/bin/krill-idmap: cmd/krill-idmap/krill-idmap.c
	mkdir -p dist/bin
	cc -O2 -Wall -Wextra -Werror -o $@ $<

# sd_notify(3) for the systemd unit (Type=notify): Node.js cannot send a unix datagram.
dist/bin/krill-notify: cmd/krill-notify/krill-notify.c
	mkdir -p dist/bin
	cc -O2 -Wall -Wextra -Werror -o $@ $<

# Type-checks everything, tests included (the jest transform does not).
typecheck: node_modules/.installed
	tsc -p tsconfig.json --noEmit

gen: node_modules/.installed
	npm run gen

# Quick start 1: install what is missing, build, run krilld in the foreground.
run: deps build
	bin/krilld $(ARGS)

# Quick start 2: install what is missing, build, run unit + integration tests,
# then critest against a krilld, then the e2e tests (a kubelet on the test bed
# drives krilld). The test bed's tools are built once into its cache; a skip
# not listed in test/jest/allowed-skips.js fails.
test: deps build typecheck
	hack/testbed build
	KRILL_STRICT_SKIPS=1 hack/run-tests --critest --e2e --selectProjects unit integration

test-unit: build
	hack/run-tests --selectProjects unit

test-integration: deps build
	hack/testbed build cri-tools
	hack/run-tests --selectProjects integration

# End to end: a real kubelet drives this tree's krilld (hack/testbed; a test bed
# started here is brought down at the end, KRILL_E2E_KEEP_CLUSTER=1 keeps it).
test-e2e: deps build
	hack/testbed build
	hack/run-tests --selectProjects e2e

# Line and branch coverage of pkg/ and cmd/ by the unit and integration tests, the krilld
# processes they start included (hack/coverage; README: Coverage). ARGS narrows the run,
# e.g. make coverage ARGS='--selectProjects unit'.
coverage: deps build
	hack/testbed build cri-tools
	hack/coverage $(ARGS)

bench: deps build
	hack/run-bench

# The node agent's image (umoci/skopeo, from this tree's build) in the test registry, as
# 127.0.0.1:5055/krill/krill-agent:<version>-<sha> and :testbed (hack/testbed up does it too).
agent-image: build
	hack/agent-image

# A one-node Kubernetes cluster whose kubelet drives this tree's krilld
# (hack/testbed; the tools are built once into /var/cache/krill-testbed).
# Prints KUBECONFIG=<file> and PATH+=<dir>.
cluster: deps build
	hack/testbed up

cluster-down:
	hack/testbed down

# Release artifacts of the committed tree (HEAD) in release/ (not dist/, tsc's output):
# krill-<version>-linux-amd64.tar.gz (self-contained bundle with install.sh) and
# krill_<version>_amd64.deb. Reproducible: two runs on one commit give the same bytes.
dist: node_modules/.installed
	hack/dist

# Checks the artifacts: bundle contents, install.sh into a temporary PREFIX, the .deb's
# contents and lintian, the .deb installed and purged in a clean Debian root, and a
# second build giving the same bytes (root; installs lintian and debootstrap if missing).
test-dist: node_modules/.installed
	hack/test-dist

clean:
	rm -rf dist
