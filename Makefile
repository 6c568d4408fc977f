# SPDX-License-Identifier: GPL-2.0
#
# Developer entry points. See README.md.
#
#   make demo              build the rust kernel, boot it, hot-plug a DIMM, show lsmem
#   make test              build the c, rust and rust-mod kernels and run every test
#   make deps              install the toolchain and the kernel source (idempotent)
#   make tree              prepare the patched kernel tree in $(MHP_CACHE)/src
#   make kernel VARIANT=v  build a variant (c, rust, rust-mod, debug); last line = bzImage path
#   make vm VARIANT=v CMD='lsmem'   boot a variant and run commands in it
#   make check             rustfmt, clippy and checkpatch only
#   make test-only T='notifier*'    run tests on the kernels already built
#   make test-debug        build the debug variant (lockdep, KASAN, kmemleak) and run its tests
#
# The cache (pristine source, patched tree, build directories) lives outside
# the repository in $(MHP_CACHE), default /var/cache/mhp-rust.

MHP_CACHE ?= /var/cache/mhp-rust
VARIANT ?= rust
CMD ?= lsmem
T ?=
export MHP_CACHE

TESTS := tools/testing/tests/run.py $(foreach t,$(T),-k '$(t)')

.PHONY: all deps tree kernel demo test test-only test-debug check vm clean help

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

test: deps
	@tools/build/build-kernel.sh rust
	@tools/build/build-kernel.sh c
	@tools/build/build-kernel.sh rust-mod
	@$(TESTS)

test-only:
	@$(TESTS)

test-debug: deps
	@tools/build/build-kernel.sh debug
	@$(TESTS) --variants debug

check: deps
	@tools/build/prepare-tree.sh
	@tools/testing/tests/run.py -k rustfmt -k clippy -k checkpatch

vm:
	@tools/testing/vm/vm.py --variant $(VARIANT) -- "$(CMD)"

clean:
	rm -rf $(MHP_CACHE)/build-* $(MHP_CACHE)/src $(MHP_CACHE)/stage
