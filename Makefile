# route-override. On a fresh Debian 12 machine, as root:
#   make demo    set up, build dist/route-override, run the demo
#   make test    set up and build if needed, then run the whole test suite
#   make e2e     the end-to-end suite: libcni, podman and containerd drive the plugin
#   make platforms  the built file on every architecture and Python, and the image index
#   make image   the installer image index for every architecture (buildah's storage)
#   make bench   the benchmarks (bench/README.md; BENCH_ARGS=--quick for a short run)
#   make k8s     the Kubernetes node: crictl on containerd's CRI and CRI-O, a real
#                kube-apiserver with the examples' NADs (builds from the Go module proxy)
# (see README.md for the rest)

VENV := .venv
PLUGIN := dist/route-override

.PHONY: setup build test e2e platforms image bench demo clean k8s k8s-build

setup: $(VENV)/.ready build

$(VENV)/.ready: pyproject.toml build/setup.sh
	build/setup.sh

build: $(VENV)/.ready
	PYTHON=$(VENV)/bin/python build/shiv.sh

test: build
	RO_PLUGIN=$(PLUGIN) $(VENV)/bin/pytest tests --ignore=tests/e2e --ignore=tests/platforms --ignore=tests/k8s

e2e: build
	RO_PLUGIN=$(PLUGIN) $(VENV)/bin/pytest tests/e2e

platforms: build
	RO_PLUGIN=$(PLUGIN) $(VENV)/bin/pytest tests/platforms

image: build
	build/image.sh

# The Go programs of the Kubernetes node, pinned by build/k8s/*/go.sum, into
# .cache/k8s/bin (Go's build cache makes a second run seconds).
k8s-build:
	build/k8s/build.sh

k8s: build k8s-build
	RO_PLUGIN=$(PLUGIN) $(VENV)/bin/pytest tests/k8s
	@cat .cache/k8s/pod-start.txt

# matplotlib draws the chart; it is bench-only, so it is installed here, not by setup.
bench: build
	$(VENV)/bin/python -c 'import matplotlib' 2>/dev/null || $(VENV)/bin/pip install -qq --disable-pip-version-check -e '.[bench]'
	$(VENV)/bin/python bench/run.py $(BENCH_ARGS)

demo: build
	RO_PLUGIN=$(PLUGIN) demo/demo.sh

clean:
	rm -rf dist $(VENV) .pytest_cache .hypothesis .cache
