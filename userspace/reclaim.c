// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - reclaim exactly what a cgroup's processes have lazily freed
 *
 * A page that MADV_FREE left lazily freed is anonymous and no longer
 * swap-backed: the kernel clears PG_swapbacked on it, and sets it again if
 * the program writes the page before reclaim comes.  So for each process of
 * the cgroup (and its descendants):
 *
 *   /proc/PID/smaps      the mappings with LazyFree > 0
 *   /proc/PID/pagemap    the page frame of each present page there
 *   /proc/kpageflags     which of those frames are anon and !swapbacked
 *
 * and process_madvise(MADV_PAGEOUT) (5.10+) on runs of exactly those pages.
 * Reclaim frees a clean lazily freed page at once, without swap; a page
 * written again since the scan has a dirty PTE, which makes reclaim keep
 * it.  Page cache and anonymous memory in use are never touched, whatever
 * the LRU order (memory.reclaim takes the oldest pages of the file LRU,
 * where lazily freed pages sit with page cache).  Needs root: page frame
 * numbers and kpageflags are CAP_SYS_ADMIN's, process_madvise CAP_SYS_NICE.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lazyfreectl.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define KPF_ANON	12		/* include/uapi/linux/kernel-page-flags.h */
#define KPF_SWAPBACKED	14
#define IOV_BATCH	512
#define PM_BATCH	512		/* pagemap entries read at once */

struct pageout {
	bool dry_run;
	int kpageflags;
	long psize;
	long pid;
	int pidfd;
	struct iovec iov[IOV_BATCH];
	int n;
	uint64_t bytes;		/* asked to page out, all processes */
};

/* page out the batched ranges; a process that exited has nothing left */
static int flush(struct pageout *po)
{
	ssize_t ret = 0;
	int i;

	if (!po->n)
		return 0;
	for (i = 0; i < po->n; i++)
		po->bytes += po->iov[i].iov_len;
	if (!po->dry_run)
		ret = syscall(SYS_process_madvise, po->pidfd, po->iov, po->n,
			      MADV_PAGEOUT, 0);
	po->n = 0;
	if (ret < 0 && errno != ESRCH && errno != ENOMEM) {
		char what[64];

		snprintf(what, sizeof(what), "process_madvise(%ld, MADV_PAGEOUT)",
			 po->pid);
		lf_err(NULL, what, NULL, errno);
		return -errno;
	}
	return 0;
}

static int add_page(struct pageout *po, uint64_t addr)
{
	struct iovec *last = po->n ? &po->iov[po->n - 1] : NULL;

	if (last && (uint64_t)last->iov_base + last->iov_len == addr) {
		last->iov_len += po->psize;
		return 0;
	}
	if (po->n == IOV_BATCH) {
		int ret = flush(po);

		if (ret < 0)
			return ret;
	}
	po->iov[po->n].iov_base = (void *)addr;
	po->iov[po->n].iov_len = po->psize;
	po->n++;
	return 0;
}

/* lazily freed: anonymous, not swap-backed; a frame past the end is not */
static int lazily_freed(struct pageout *po, uint64_t pfn)
{
	uint64_t flags;
	ssize_t got = pread(po->kpageflags, &flags, sizeof(flags),
			    pfn * sizeof(flags));

	if (got < 0) {
		lf_err("/proc/kpageflags", "read failed", NULL, errno);
		return -errno;
	}
	if (got != sizeof(flags))
		return 0;
	return (flags >> KPF_ANON & 1) && !(flags >> KPF_SWAPBACKED & 1);
}

/* the lazily freed pages of [start, end) */
static int scan_vma(struct pageout *po, int pagemap, uint64_t start,
		    uint64_t end)
{
	uint64_t pm[PM_BATCH], addr = start;
	ssize_t got;
	int i, ret;

	while (addr < end) {
		size_t want = (end - addr) / po->psize;

		if (want > PM_BATCH)
			want = PM_BATCH;
		got = pread(pagemap, pm, want * sizeof(*pm),
			    addr / po->psize * sizeof(*pm));
		if (got <= 0)
			return got < 0 && errno != ESRCH ? -errno : 0;
		for (i = 0; i < got / (ssize_t)sizeof(*pm); i++, addr += po->psize) {
			if (!(pm[i] & PM_PRESENT) || !(pm[i] & PM_PFN_MASK))
				continue;
			ret = lazily_freed(po, pm[i] & PM_PFN_MASK);
			if (ret > 0)
				ret = add_page(po, addr);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* lf_proc_fn: every mapping of PID with LazyFree > 0 */
static int pageout_pid(long pid, void *arg)
{
	struct pageout *po = arg;
	char path[64], line[512];
	unsigned long long start = 0, end = 0, kb;
	int pagemap, ret = 0;
	FILE *smaps;

	snprintf(path, sizeof(path), "/proc/%ld/smaps", pid);
	smaps = lf_fopen(path);
	if (!smaps)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	snprintf(path, sizeof(path), "/proc/%ld/pagemap", pid);
	po->pid = pid;
	po->pidfd = -1;
	pagemap = lf_open(path, O_RDONLY);
	if (pagemap < 0) {
		ret = errno == ENOENT || errno == ESRCH ? 0 : -errno;
		if (ret)
			lf_err(path, "read failed", NULL, ret);
		goto out;
	}
	if (!po->dry_run) {
		po->pidfd = syscall(SYS_pidfd_open, pid, 0);
		if (po->pidfd < 0) {
			ret = errno == ESRCH ? 0 : -errno;
			if (ret)
				lf_err(NULL, "pidfd_open", NULL, ret);
			goto out;
		}
	}
	while (!ret && fgets(line, sizeof(line), smaps)) {
		unsigned long long s, e;
		char perms[8];

		/* a mapping's first line; "AnonHugePages:" must not count */
		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) == 3) {
			start = s;
			end = e;
			continue;
		}
		if (sscanf(line, "LazyFree: %llu kB", &kb) == 1 && kb)
			ret = scan_vma(po, pagemap, start, end);
	}
	if (!ret)
		ret = flush(po);
out:
	po->n = 0;
	if (pagemap >= 0)
		close(pagemap);
	if (po->pidfd >= 0)
		close(po->pidfd);
	fclose(smaps);
	return ret;
}

/*
 * Page out every lazily freed page of the processes of the cgroup at
 * logical path DIR and its descendants; *bytes: how much was asked for.
 * DRY_RUN: only count it.
 */
int lf_pageout_lazyfree(const char *dir, bool dry_run, uint64_t *bytes)
{
	struct pageout po = {
		.dry_run = dry_run,
		.psize = sysconf(_SC_PAGESIZE),
	};
	int ret;

	po.kpageflags = lf_open("/proc/kpageflags", O_RDONLY);
	if (po.kpageflags < 0) {
		ret = -errno;
		lf_err("/proc/kpageflags", "read failed", NULL, ret);
		return ret;
	}
	ret = lf_for_each_proc(dir, true, pageout_pid, &po);
	close(po.kpageflags);
	*bytes = po.bytes;
	return ret;
}
