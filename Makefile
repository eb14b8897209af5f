# The one driver for the chores: build, demo, test, bench, format.
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?=
JOBS ?= $(shell nproc)

.PHONY: all deps build demo test test-asan unit bench fuzz soak format format-check clean

all: build

deps:
	@./scripts/install-deps

$(BUILD)/build.ninja:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD) -j $(JOBS) | grep -v '^\[' || true
	@test -x $(BUILD)/spectrum

# The main job: the sample workload through every tier usable here, results side by side.
demo: build
	@./scripts/demo $(BUILD)

# Every test: unit, integration, spec suite, real containerd, short fuzz runs.
test: build
	@./scripts/test $(BUILD)

# The unit and engine tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSPECTRUM_SANITIZE=ON -DSPECTRUM_BENCH=OFF >/dev/null
	@ninja -C $(ASAN_BUILD) -j $(JOBS) | grep -v '^\[' || true
	@cd $(ASAN_BUILD) && ctest -L unit --output-on-failure -j $(JOBS)

# Every fuzz target for FUZZ_SECONDS each (an hour by default), ASan+UBSan, findings kept in
# $(BUILD)/fuzz-long; prints executions, coverage and findings per target. The sandbox kernel's
# target needs the build's guest kernel. FUZZ_JOBS targets run at once (one by default).
FUZZ_SECONDS ?= 3600
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?= fuzz_decode fuzz_run fuzz_limits fuzz_artifact fuzz_wasi fuzz_oci_config fuzz_oci_process fuzz_oci_state fuzz_elf fuzz_syscalls
fuzz: build
	@FUZZ_JOBS=$(FUZZ_JOBS) TESTSUITE=$(CURDIR)/../shared/wasm-testsuite GUEST_KERNEL=$(BUILD)/src/vm/guest_kernel.bin \
	  tests/fuzz/run.sh $(BUILD)/fuzz-long $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The long soak (issue 16): per usable tier SOAK_RUNS runs back to back, then SOAK_RUNS eight at a
# time, with faults mixed in; then the hostile workloads and the OCI runtime under concurrency.
# Prints one figures line per tier (runs, faults, SIGKILLs, leaks).
SOAK_RUNS ?= 1000
soak: build
	@ninja -C $(BUILD) soak_load soak_mutate >/dev/null
	@tests/soak/soak_test.sh $(BUILD)/spectrum $(CURDIR) $(BUILD)/tests/soak/soak_load $(SOAK_RUNS) 8
	@tests/soak/hostile_test.sh $(BUILD)/spectrum $(CURDIR) $(BUILD)/tests/soak/soak_load
	@tests/soak/oci_concurrency_test.sh $(BUILD)/spectrum $(CURDIR) 50

bench: build
	@./bench/run-all $(BUILD)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
