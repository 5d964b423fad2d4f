# Quick start: `make run` and `make test`. Both install the Debian packages they need first.
JOBS ?= $(shell nproc)
PRESET ?= release

FUZZ_RUNS ?= 20000
# Each target also stops after this many seconds in `make fuzz` (so `make test` stays bounded).
FUZZ_MAX_SECONDS ?= 30

.PHONY: deps configure build run test asan fuzz fuzz-long bench format clean
deps:
	@./scripts/install-deps

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET) -j $(JOBS)

# Builds the pmcmodel executable only; the tests and benchmarks are built by `make test`.
run: configure
	@cmake --build --preset $(PRESET) -j $(JOBS) --target pmcmodel
	./build/$(PRESET)/cli/pmcmodel measure

# Fuzz runs first so that ctest's summary closes the output.
test: build
	@$(MAKE) --no-print-directory fuzz
	ctest --preset $(PRESET) -j $(JOBS)

# libFuzzer targets (importers, expression parser) under ASan+UBSan, a bounded run each.
fuzz: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	FUZZ_MAX_SECONDS=$(FUZZ_MAX_SECONDS) ./scripts/run-fuzz $(FUZZ_RUNS)

# Every fuzz target for a million inputs, with no time limit (docs/testing.md records a run).
fuzz-long: deps
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	FUZZ_MAX_SECONDS=0 ./scripts/run-fuzz 1000000

asan:
	@$(MAKE) --no-print-directory test PRESET=asan

bench: build
	@./scripts/install-deps --bench
	./bench/startup.sh ./build/$(PRESET)/cli/pmcmodel

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf build
