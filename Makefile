# SPDX-License-Identifier: GPL-2.0
# lazyfree: top-level build.  Logic lives in rig/*.sh; this file only
# names the commands.
#
#   make                      module/lazyfree.ko for the running kernel
#                             and userspace/lazyfreectl
#   make KDIR=<build dir>     the module for another kernel
#   make clean
#   make check                build, boot Debian 5.10, 6.1, 6.12, 6.18, 7.3
#                             and 6.18-rt in QEMU, run the selftests (see
#                             README.md); ARCH=arm64 or arm64-16k,
#                             KERNELS='6.18 6.12-rt'
#   make check-all            every line x arch x flavour x lane x hook
#   make demo                 Go and jemalloc in free/dontneed cgroups, plot
#   make bench                instructions per madvise, deterministic (-icount);
#                             writes Documentation/benchmarks.rst
#   make check-debug          the selftests on linux-source-6.12 built with
#                             KASAN, lockdep, kmemleak, DEBUG_ATOMIC_SLEEP
#                             (kernel cached; first build ~15 min)
#   make check-peer           the kernel's mm selftests without and with the
#                             module (default_mode=dontneed), Debian 6.12
#                             (peer/README.md; PEER_LONG=1 for the long ones)
#   make fuzz SEEDS=1-5000    the differential fuzzer (selftests/lazyfree_fuzz)
#                             in one boot (KERNELS=6.18 LANES=v2 HOOKS=ftrace);
#                             SEEDS=N for seeds 1-N; SEEDS=N VERBOSE=1 replays
#                             one seed step by step
#   make rig-test             self-test of the rig's log scanner
#   make install              module (for KDIR's kernel), lazyfreectl, man
#                             page, lazyfree.service and example configs
#                             (MODULE=no: all but the module)
#   make uninstall            all of it again (configs only if unchanged)
#   make dkms-install         module sources to /usr/src/lazyfree-<version>,
#                             then dkms add/build/install
#   make deb                  Debian packages lazyfree-dkms and lazyfreectl
#                             in build/deb/<arch>/ (debian/; ARCH=arm64
#                             cross-builds lazyfreectl)
#   (DESTDIR, PREFIX, KDIR, KRELEASE: see
#   Documentation/admin-guide/lazyfree-install.rst)

KDIR ?= /lib/modules/$(shell uname -r)/build

all: module userspace

module:
	@test -f $(KDIR)/Makefile || { \
	  echo "KDIR=$(KDIR) is not a kernel build directory: install the"; \
	  echo "headers of this kernel, or pass KDIR=<path>; 'make check' unpacks"; \
	  echo "Debian kernels under $${LAZYFREE_CACHE:-/var/cache/lazyfree}/kernels/<release>/kdir"; \
	  exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

userspace:
	$(MAKE) -C userspace

clean:
	@if [ -f $(KDIR)/Makefile ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -f module/*.o module/*.ko module/*.mod module/*.mod.c module/.*.cmd \
	  module/*.order module/Module.symvers *.order Module.symvers .*.cmd
	@if [ -f userspace/Makefile ]; then $(MAKE) -C userspace clean; fi
	@if [ -f selftests/Makefile ]; then $(MAKE) -C selftests clean; fi
	rm -rf build

check:
	rig/check.sh

rig-test:
	rig/selftest.sh

demo:
	rig/demo.sh

bench:
	rig/bench.sh

check-all:
	rig/check-all.sh

check-debug:
	rig/check.sh --debug

check-peer:
	rig/peer.sh

fuzz:
	rig/fuzz.sh

deb:
	packaging/deb-build.sh

.PHONY: all module userspace clean check check-all check-debug check-peer fuzz rig-test demo bench deb

# ---- Installing (Documentation/admin-guide/lazyfree-install.rst) ----
# One version for the project: VERSION (also the module's MODULE_VERSION).
VERSION := $(shell cat $(CURDIR)/VERSION)
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
# Units a package ships go to /lib/systemd/system, a local install's to /etc.
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(SYSCONFDIR)/systemd/system)
# The release KDIR's kernel reports (uname -r), which modules_install and
# depmod need; Debian's include/config/kernel.release is not it.
KRELEASE ?= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
DKMS_SRC := /usr/src/lazyfree-$(VERSION)
# Every file of module/ but what kbuild makes and module/Kbuild's clean-files.
DKMS_FILES := Kbuild Makefile dkms.conf $(filter-out %.o %.ko %.mod %.mod.c %.order \
	%.symvers %.dwo $(addprefix module/,$(shell sed -n 's/^clean-files *:*= *//p' module/Kbuild)), \
	$(wildcard module/*))
# Configuration is installed only where none is, and removed only unchanged.
CONFIGS := lazyfree.conf:$(SYSCONFDIR)/lazyfree.conf \
	modprobe.d/lazyfree.conf:$(SYSCONFDIR)/modprobe.d/lazyfree.conf
SYSTEMD_RUNNING = $(if $(DESTDIR),,$(wildcard /run/systemd/system))
# lazyfree.service loads and applies; the timer re-applies every 30 s.
UNITS := lazyfree.service lazyfree-apply.service lazyfree-apply.timer

# MODULE=no: all but the module (a node whose module DKMS builds).
MODULE ?= yes

install: userspace $(if $(filter yes,$(MODULE)),module)
ifeq ($(MODULE),yes)
	@test -n "$(KRELEASE)" || { echo "no include/generated/utsrelease.h in KDIR=$(KDIR): pass KRELEASE=<release>"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=extra INSTALL_MOD_PATH=$(DESTDIR) \
		KERNELRELEASE=$(KRELEASE) modules_install
endif
	$(MAKE) -C userspace install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) SBINDIR=$(SBINDIR) MANDIR=$(MANDIR)
	install -d $(DESTDIR)$(UNITDIR)
	for u in $(UNITS); do \
	  sed '/^Exec/s|/usr/local/sbin|$(SBINDIR)|' packaging/$$u >$(DESTDIR)$(UNITDIR)/$$u && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	@for c in $(CONFIGS); do \
	  dst=$(DESTDIR)$${c#*:}; \
	  if [ -e "$$dst" ]; then echo "$$dst exists: kept"; \
	  else echo "install packaging/$${c%%:*} $$dst"; install -D -m 0644 packaging/$${c%%:*} "$$dst"; fi; \
	done
ifeq ($(MODULE),yes)
ifeq ($(DESTDIR),)
	depmod -a $(KRELEASE)
else
	@echo "DESTDIR is set: run 'depmod -a $(KRELEASE)' on the target"
endif
endif
ifneq ($(SYSTEMD_RUNNING),)
	systemctl daemon-reload
	@echo "now: systemctl enable --now lazyfree"
endif

# Every kernel's copy that 'make install' put there (not DKMS's).
uninstall:
ifneq ($(SYSTEMD_RUNNING),)
	-systemctl disable --now lazyfree-apply.timer
	-systemctl disable lazyfree.service
endif
	@for ko in $(DESTDIR)/lib/modules/*/extra/module/lazyfree.ko*; do \
	  [ -e "$$ko" ] || continue; \
	  echo "rm $$ko"; rm -f "$$ko"; \
	  d=$${ko%/lazyfree.ko*}; rmdir "$$d" "$${d%/module}" 2>/dev/null || true; \
	  rel=$${ko#$(DESTDIR)/lib/modules/}; rel=$${rel%%/*}; \
	  if [ -z "$(DESTDIR)" ]; then echo "depmod -a $$rel"; depmod -a "$$rel"; fi; \
	done
	rm -f $(DESTDIR)$(SBINDIR)/lazyfreectl $(DESTDIR)$(MANDIR)/man8/lazyfreectl.8 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))
	@for c in $(CONFIGS); do \
	  dst=$(DESTDIR)$${c#*:}; [ -e "$$dst" ] || continue; \
	  if cmp -s packaging/$${c%%:*} "$$dst"; then echo "rm $$dst"; rm -f "$$dst"; \
	  else echo "$$dst was changed: kept"; fi; \
	done
ifneq ($(SYSTEMD_RUNNING),)
	systemctl daemon-reload
endif
	@if grep -q '^lazyfree ' /proc/modules 2>/dev/null && [ -z "$(DESTDIR)" ]; then \
	  echo "lazyfree is still loaded: modprobe -r lazyfree"; fi

# The module's sources, and dkms.conf with the version, in DKMS's source
# tree; without DESTDIR also dkms add, build and install (for KDIR's
# kernel, by default the running one; AUTOINSTALL builds it for every
# kernel installed later).
dkms-install:
	rm -rf $(DESTDIR)$(DKMS_SRC)
	install -d $(DESTDIR)$(DKMS_SRC)/module
	for f in $(DKMS_FILES); do \
	  install -m $$(if [ -x $$f ]; then echo 0755; else echo 0644; fi) $$f $(DESTDIR)$(DKMS_SRC)/$$f; done
	install -m 0644 VERSION $(DESTDIR)$(DKMS_SRC)/VERSION
	sed -i 's/@VERSION@/$(VERSION)/' $(DESTDIR)$(DKMS_SRC)/dkms.conf
ifeq ($(DESTDIR),)
	@# the same version again: rebuilt from these sources for every kernel that had it
	kernels="$$(dkms status -m lazyfree -v $(VERSION) | awk -F', ' '{ print $$2 }')"; \
	if [ -n "$$kernels" ]; then dkms remove lazyfree/$(VERSION) --all; fi; \
	dkms add lazyfree/$(VERSION) && \
	for k in $$(printf '%s\n' $(or $(KRELEASE),$$(uname -r)) $$kernels | sort -u); do \
	  dkms install lazyfree/$(VERSION) -k $$k || exit 1; done
endif

.PHONY: install uninstall dkms-install
