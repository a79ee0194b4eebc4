# SPDX-License-Identifier: GPL-2.0
# lazyfree: top-level build.  Logic lives in rig/*.sh; this file only
# names the commands.
#
#   make                      module/lazyfree.ko for the running kernel
#                             and userspace/lazyfreectl
#   make KDIR=<build dir>     the module for another kernel
#   make clean
#   make check                build, boot Debian 6.1 and 6.12 in QEMU, run
#                             the selftests (see README.md)
#   make rig-test             self-test of the rig's log scanner

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

.PHONY: all module userspace clean check rig-test
