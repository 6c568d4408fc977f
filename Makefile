# SPDX-License-Identifier: GPL-2.0
#
# Developer entry points. See README.md.
#
#   make demo              build the rust kernel, boot it, hot-plug a DIMM, show lsmem
#   make test              build the c, rust, rust-mod and debug kernels and run every test
#   make deps              install the toolchain and the kernel source (idempotent)
#   make tree              prepare the patched kernel tree in $(MHP_CACHE)/src
#   make kernel VARIANT=v  build a variant (c, rust, rust-mod, debug); last line = bzImage path
#   make vm VARIANT=v CMD='lsmem'   boot a variant and run commands in it
#   make check             rustfmt, clippy and checkpatch only
#   make matrix            build the Rust code with each option of the config matrix off
#   make test-only T='notifier*'    run tests on the kernels already built
#   make test-debug        build the debug variant (lockdep, KASAN, kmemleak) and run its tests
#   make test-kcsan        build c-kcsan and rust-kcsan (KCSAN) and run the concurrency tests on them
#   make fuzz SEED=n WRITES=n VARIANTS=c,rust   the seeded sysfs fuzzer on built kernels
#   make stress DURATION=s VARIANTS=debug     concurrent stress on built kernels
#   make latency ROUNDS=n  wall-clock removal latency, c against rust, n rounds each (alone on the host)
#   make kunit             the KUnit suites with kunit.py and drivers/base/memory_rust/.kunitconfig
#   make docs              the admin guide in the kernel's HTML documentation (admin-guide/mm)
#   make series            the series as it would be posted, with its cover letter (git format-patch, b4)
#   make bisect            build every commit of that series (vmlinux, modules): it bisects
#
# The cache (pristine source, patched tree, build directories) lives outside
# the repository in $(MHP_CACHE), default /var/cache/mhp-rust.

MHP_CACHE ?= /var/cache/mhp-rust
comma := ,
VARIANT ?= rust
CMD ?= lsmem
T ?=
export MHP_CACHE

TESTS := tools/testing/tests/run.py $(foreach t,$(T),-k '$(t)')

.PHONY: all deps tree kernel demo test test-only test-debug test-kcsan fuzz stress check matrix vm clean help \
	kunit docs series bisect latency

all: help

help:
	@awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' Makefile

deps:
	@tools/build/deps.sh

tree: deps
	@tools/build/prepare-tree.sh

kernel: deps
	@tools/build/build-kernel.sh $(VARIANT)

demo: deps
	@tools/build/build-kernel.sh rust
	@tools/testing/vm/demo.py rust

# The scenarios that also run on the debug variant in `make test` (notifier_sequences is
# compared with c; the fuzzer's 10^4 debug writes are checked, not compared; fault_injection
# fails the allocations of module loading only); `make test-debug` runs all of its
# scenarios, fault_injection in full.
DEBUG_TESTS := notifier_sequences,policy_rmmod_with_altmaps,sysfs_fuzz,stress,fault_injection,observe_failures_trace,kunit_boot

# The booted configuration matrix (test_config_booted.py): c and rust without NUMA and
# without MEMORY_HOTREMOVE; rust-CFG starts from rust's objects and c-CFG from rust-CFG's.
CONFIG_VARIANTS := rust-nonuma c-nonuma rust-nohotremove c-nohotremove

test: deps
	@tools/build/build-kernel.sh rust
	@tools/build/build-kernel.sh c
	@tools/build/build-kernel.sh rust-mod
	@tools/build/build-kernel.sh debug
	@for v in $(CONFIG_VARIANTS); do tools/build/build-kernel.sh $$v || exit 1; done
	@$(TESTS) --variants c,rust,rust-mod,debug,$(subst $(eval) ,$(comma),$(CONFIG_VARIANTS)) \
		--only debug=$(DEBUG_TESTS)

test-only:
	@$(TESTS)

test-debug: deps
	@tools/build/build-kernel.sh debug
	@FAULTS_FULL=1 $(TESTS) --variants debug

# KCSAN (configs/kcsan.config) on c and rust: the stress test, the fuzzer and the notifier
# paths; a data race in the project's code fails the test (vm.py: kcsan_reports()), the
# others (upstream's) are listed from $(MHP_CACHE)/kcsan-reports.txt at the end.
KCSAN_TESTS := stress,sysfs_fuzz,notifier_sequences,notifier_paths_*
test-kcsan: deps
	@tools/build/build-kernel.sh rust-kcsan
	@tools/build/build-kernel.sh c-kcsan
	@rm -f $(MHP_CACHE)/kcsan-reports.txt
	@tools/testing/tests/run.py $(foreach t,$(subst $(comma), ,$(KCSAN_TESTS)),-k '$(t)') \
		--variants c-kcsan,rust-kcsan; rc=$$?; \
	echo "# KCSAN reports (variant, ours/upstream, where):"; \
	grep -v '^    ' $(MHP_CACHE)/kcsan-reports.txt 2>/dev/null | sort | uniq -c | sed 's/^/# /'; \
	exit $$rc

SEED ?= 1
WRITES ?= 10000
VARIANTS ?= c,rust
fuzz:
	@FUZZ_SEED=$(SEED) FUZZ_WRITES=$(WRITES) tools/testing/tests/run.py -k sysfs_fuzz \
		--variants $(VARIANTS)

DURATION ?= 600
stress:
	@STRESS_DURATION=$(DURATION) tools/testing/tests/run.py -k stress --variants $(VARIANTS)

# test_removal_latency.py with more rounds than make test's 7: a tighter median. Nothing else
# may run on the host meanwhile (the test waits for it to be quiet).
ROUNDS ?= 15
latency: deps
	@tools/build/build-kernel.sh rust
	@tools/build/build-kernel.sh c
	@LATENCY_ROUNDS=$(ROUNDS) tools/testing/tests/run.py -k removal_latency

check: deps
	@tools/build/prepare-tree.sh
	@tools/testing/tests/run.py -k rustfmt -k clippy -k checkpatch

# Every entry of the configuration matrix (test_config_matrix.py; `make test` builds two).
matrix: deps
	@tools/build/build-kernel.sh rust
	@MATRIX=all tools/testing/tests/run.py -k config_matrix

# kunit.py builds its own kernel (x86_64, the .kunitconfig) in $(MHP_CACHE)/kunit and boots it
# in QEMU; test_kunit_tool.py checks every suite's cases.
kunit: deps
	@tools/testing/tests/run.py -k kunit_tool

docs: deps
	@tools/testing/tests/run.py -k htmldocs_admin_guide

# The posted form of the project: patches/ and the overlay's files as commits, a cover letter
# generated from the repository; the last line printed is the directory ($(MHP_CACHE)/series).
series: deps
	@tools/build/series.py

# Every commit of the posted series builds (test_series.py; `make test` builds one, chosen
# from the commit id).
bisect: deps
	@tools/build/build-kernel.sh rust-mod
	@BISECT=all tools/testing/tests/run.py -k series_bisect

vm:
	@tools/testing/vm/vm.py --variant $(VARIANT) -- "$(CMD)"

clean:
	rm -rf $(MHP_CACHE)/build-* $(MHP_CACHE)/src $(MHP_CACHE)/stage
