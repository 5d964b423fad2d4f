# Quick start: `make run` and `make test`. Both install the Debian packages they need first.
JOBS ?= $(shell nproc)
PRESET ?= release

.PHONY: deps build run test asan bench format clean
deps:
	@./scripts/install-deps

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(JOBS)

run: build
	./build/$(PRESET)/cli/pmcmodel measure

test: build
	ctest --preset $(PRESET) -j $(JOBS)

asan:
	@$(MAKE) --no-print-directory test PRESET=asan

bench: build
	@./scripts/install-deps --bench
	./bench/startup.sh ./build/$(PRESET)/cli/pmcmodel

format:
	clang-format -i $$(git ls-files '*.h' '*.cpp')

clean:
	rm -rf build
