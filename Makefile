# ctrack front door. Two commands matter:  make demo  and  make test.
# Everything else (build, install, bench) is here for convenience.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
TSA_BUILD  ?= build-tsa
FUZZ_BUILD ?= build-fuzz
ARM64_BUILD ?= build-arm64
PREFIX     ?= /usr/local
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

# Debian packages the build needs, and the command that proves each is there.
# conntrack and nftables let the kernel-comparison test configure and read
# Linux's own connection tracker in a network namespace; tcpdump captures
# what the kernel's NAT lets out (nflog) for the NAT comparison, and
# python3-scapy checks every checksum ctrack's NAT rewrites, independently
# of ctrack's own code (golden_kernel_nat_checksums).
# clang runs the -Wthread-safety analysis of the shared-table locks (test-tsa).
# gcc-aarch64-linux-gnu cross-compiles the library for arm64, and qemu-user
# runs its unit tests there (test-arm64).
DEB_PKGS := cmake gcc make pkg-config libpcap-dev conntrack nftables tcpdump python3-scapy \
            clang gcc-aarch64-linux-gnu qemu-user

.PHONY: all setup build demo test test-release test-asan test-tsan test-tsa test-arm64 test-fuzz install \
        bench \
        clean

all: build

setup:
	@sh tools/setup-deps.sh $(DEB_PKGS)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/ctrack read samples/sample.pcap

test: setup test-release test-asan test-tsan test-tsa test-arm64 test-fuzz
	@echo "all test builds passed"

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCTRACK_SANITIZE=address,undefined $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -LE slow

test-tsan: setup
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCTRACK_SANITIZE=thread $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target test_shared test_nat
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -L concurrency

# clang's -Wthread-safety analysis over the library (warnings are errors),
# then tests/tsa/: code that breaks the lock rules must be rejected.
test-tsa: setup
	CC=clang cmake -S . -B $(TSA_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCTRACK_THREAD_SAFETY=ON $(CMAKE_FLAGS)
	cmake --build $(TSA_BUILD) -j $(JOBS) --target ctrack_static
	cd $(TSA_BUILD) && ctest --output-on-failure -L tsa

# The library and its unit tests cross-compiled for arm64 (no CLI: it needs
# libpcap), the tests run under qemu-aarch64 (cmake/aarch64-linux-gnu.cmake).
# The portable and NEON code paths of base/arch.h are built and tested here.
test-arm64: setup
	cmake -S . -B $(ARM64_BUILD) -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake -DCTRACK_LIB_ONLY=ON $(CMAKE_FLAGS)
	cmake --build $(ARM64_BUILD) -j $(JOBS)
	cd $(ARM64_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# The libFuzzer targets (tests/fuzz/), built with clang and run briefly:
# 200000 inputs each from a fixed seed.
test-fuzz: setup
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCTRACK_FUZZ=ON -DCTRACK_LIB_ONLY=ON \
		$(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

bench: build
	./$(BUILD)/ctbench

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(TSA_BUILD) $(ARM64_BUILD) $(FUZZ_BUILD)
