/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the lazyfree selftests: sysfs attribute access that
 * keeps errno, cgroup creation/removal, running a case in a forked child
 * placed in a cgroup, and reading /proc/self/smaps_rollup without malloc.
 */
#ifndef LF_UTIL_H
#define LF_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>

/* C libraries older than these system calls (one number on every arch) */
#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434
#endif
#ifndef __NR_process_madvise
#define __NR_process_madvise 440
#endif

#define LF_SYSFS	"/sys/kernel/lazyfree"
#define LF_MAXPAGES	2048	/* a 32 MiB huge page of 16 KiB pages */

extern size_t lf_pagesize;
/*
 * The sizes of this kernel's PMD-mapped transparent huge page and of its
 * default hugetlb page (2 MiB with 4 KiB pages, 32 MiB with 16 KiB), or
 * 0 where it has none.
 */
size_t lf_thp_size(void);
size_t lf_hugetlb_size(void);

/* Raw attribute access. Return 0 or -errno. Reads strip one trailing '\n'. */
int lf_read_file(const char *path, char *buf, size_t size);
int lf_write_buf(const char *path, const void *buf, size_t len);
int lf_write_file(const char *path, const char *s);
/* The same with open(2) flags added to O_WRONLY: O_APPEND, O_TRUNC. */
int lf_write_flags(const char *path, const char *s, int flags);
/* The kernel log (klogctl READ_ALL), NUL-terminated, to free(); or NULL. */
char *lf_kmsg_read(void);
int lf_read_u64_file(const char *path, uint64_t *val);

/* Attributes below /sys/kernel/lazyfree/ */
int lf_attr_read(const char *attr, char *buf, size_t size);
int lf_attr_write(const char *attr, const char *s);
int lf_attr_u64(const char *attr, uint64_t *val);

/* Attributes below /sys/kernel/lazyfree/cgroups/<id>/ */
int lf_cg_attr_read(uint64_t id, const char *attr, char *buf, size_t size);
int lf_cg_attr_write(uint64_t id, const char *attr, const char *s);
int lf_cg_attr_u64(uint64_t id, const char *attr, uint64_t *val);
bool lf_cg_tracked(uint64_t id);
int lf_count_tracked(void);	/* cgroups/<id> directories, or -1 */
/* the tracked ids, sorted, at most @max; their number, or -1 (errno) */
int lf_tracked_ids(uint64_t *ids, int max);
/*
 * Poll up to timeout_ms for cgroups/<id>/ to appear with all its files, or
 * to disappear; returns ms waited or -1.
 */
int lf_wait_tracked(uint64_t id, bool want, int timeout_ms);
int lf_track(uint64_t id);	/* cgroups/add, EEXIST is fine */
int lf_untrack(uint64_t id);	/* cgroups/remove, ENOENT is fine */
bool lf_module_loaded(void);

/* Environment from the rig, with fallbacks for manual runs. */
const char *lf_cgroup_root(void);
const char *lf_lane(void);	/* "v2" or "v1" */
const char *lf_hook_env(void);	/* "ftrace", "kprobe" or NULL */
/*
 * LAZYFREE_THOROUGH=1: run the long reliability loops at the full
 * size.  The rig sets it in one boot per kernel; the others run them
 * smaller (manual runs: full size unless LAZYFREE_THOROUGH=0).
 */
bool lf_thorough(void);
/* LAZYFREE_DEBUG_KERNEL=1: make check-debug's kernel (KASAN, lockdep, ...) */
bool lf_debug_kernel(void);

struct lf_cg {
	char path[PATH_MAX];	/* absolute directory */
	char rel[PATH_MAX];	/* path inside the hierarchy, "/a/b" */
	uint64_t id;
	bool created;
};

/*
 * mkdir <root>/<rel> (removing a stale one first) and record its id.
 * rel is relative to the hierarchy root, without leading '/'.
 */
int lf_cg_create(struct lf_cg *cg, const char *rel);
int lf_cg_destroy(struct lf_cg *cg);	/* untrack + rmdir with retries */
int lf_cg_enter(const char *cgpath);	/* move the calling process */
int lf_cg_id(const char *path, uint64_t *id);

/* What a case run in a child reports back (lives in MAP_SHARED memory). */
struct lf_result {
	int done;		/* set by the child when fn returned */
	int skip;		/* the case cannot run here; msg says why */
	int fail;		/* the case's own setup failed; msg says why */
	char msg[256];
	long ret;
	int err;
	int npages;
	unsigned char before[LF_MAXPAGES];	/* first byte written */
	unsigned char after[LF_MAXPAGES];	/* first byte after the op */
	/*
	 * What the page may look like in a `dontneed` cgroup, relative to
	 * the unhooked run: 'K' kept, 'Z' zero, 'M' kept or zero, 'X' not
	 * checked (hole, not readable).
	 */
	char expect[LF_MAXPAGES];
	long anon_before_kb, anon_after_kb;	/* smaps_rollup Anonymous */
	long lazy_before_kb, lazy_after_kb;	/* smaps_rollup LazyFree */
	long aux[8];
};

typedef void (*lf_case_fn)(struct lf_result *r, const void *arg);

/*
 * fork(), the child moved into cgpath (NULL: stay).  Returns 0 in the
 * child, the child's pid in the parent, -1 when fork() failed.  A child
 * that cannot move writes why into msg (shared memory, so the parent
 * reads it) and exits 3.
 */
pid_t lf_fork_into(const char *cgpath, char *msg, size_t len);

/*
 * Fork a child, move it into cgpath (NULL: stay), run fn(r, arg) there.
 * Returns 0 when the child ran fn to completion and exited 0; otherwise -1
 * with r->msg describing the failure (signal, exit code, cgroup move).
 */
int lf_run(const char *cgpath, lf_case_fn fn, const void *arg,
	   struct lf_result *r);
struct lf_result *lf_result_alloc(void);
void lf_result_free(struct lf_result *r);

/* Case helpers, for use inside fn. */
void lf_skip(struct lf_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lf_failf(struct lf_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Fill the first byte of each page with base + i (never 0). */
void lf_fill(struct lf_result *r, int first, char *addr, int npages,
	     unsigned char base, char expect);
void lf_read_after(struct lf_result *r, int first, const char *addr,
		   int npages);
void lf_mem_before(struct lf_result *r);
void lf_mem_after(struct lf_result *r);

/* smaps_rollup field in kB ("Anonymous", "LazyFree", "AnonHugePages"). */
long lf_rollup_kb(const char *field);
/* /proc/self/status field in kB ("VmPTE"), or -1. */
long lf_status_kb(const char *field);
/* smaps field of the VMA containing addr, in kB, or -1. */
long lf_smaps_kb(const void *addr, const char *field);

/* Save/restore enabled + default_mode around a test. */
struct lf_global {
	char enabled[16];
	char default_mode[32];
};
int lf_global_save(struct lf_global *g);
int lf_global_restore(const struct lf_global *g);

/* mmap a private anonymous region with THP off, filled per lf_fill. */
char *lf_map_anon(size_t len);
/*
 * For use inside fn: map len bytes of private anonymous memory, fill them
 * with c and advise them MADV_FREE (r->ret, r->err).  NULL (and the case
 * failed) if the mapping could not be made.
 */
char *lf_free_filled(struct lf_result *r, size_t len, int c);
/*
 * A case for lf_run(): MADV_FREE over *(const int *)arg pages of private
 * anonymous memory filled with 0x5a (ret and err as lf_free_filled's);
 * aux[0] is how many of them read zero afterwards.
 */
void lf_case_free_zeroes(struct lf_result *r, const void *arg);
/* Create an unlinked regular file of len bytes filled with byte c. */
int lf_tmpfile(size_t len, unsigned char c);

/*
 * The userfaultfd retry of MADV_FREE, for use inside fn: an 8-page private
 * anonymous VMA A, registered with UFFD_FEATURE_EVENT_REMOVE, is advised
 * MADV_FREE; while the kernel waits in its remove event with mmap_lock
 * dropped, the monitor replaces A, before it reads the event, with a
 * 1-page private anonymous VMA B (page 0, 'Z') and a 7-page VMA C (pages
 * 1-7, 'K'): mlocked anonymous memory, or with @c_file a private file
 * mapping with COW data.  The kernel looks B up again and MADV_FREE acts
 * on B alone.  r->ret/err are madvise's, r->aux[2] the REMOVE events.
 */
void lf_uffd_remap_free(struct lf_result *r, bool c_file);

/*
 * io_uring through raw syscalls.  lf_ring_open() returns NULL with *err
 * the errno of io_uring_setup when io_uring is unavailable (0: it failed
 * after that).  The others return as a syscall would (-1 + errno);
 * lf_ring_write_fixed() writes from registered buffer 0.
 */
struct lf_ring;
struct lf_ring *lf_ring_open(int *err);
void lf_ring_close(struct lf_ring *ring);
long lf_ring_madvise(struct lf_ring *ring, void *addr, size_t len, int advice);
int lf_ring_register_buffer(struct lf_ring *ring, void *addr, size_t len);
long lf_ring_write_fixed(struct lf_ring *ring, int fd, const void *addr,
			 size_t len, off_t off);

/* One IORING_OP_MADVISE on a ring of its own; *skip as lf_ring_open()'s */
long lf_io_uring_madvise(void *addr, size_t len, int advice, int *skip);

/*
 * rmmod / insmod $LAZYFREE_KO hook=<the hook it was loaded with> <params>.
 * -ENOENT when LAZYFREE_KO is not set (manual runs), -EIO when the command
 * failed.
 */
bool lf_can_reload(void);
int lf_module_unload(void);
int lf_module_load(const char *params);
/* the same with hook=<hook> (NULL: the rig's) */
int lf_module_load_hook(const char *hook, const char *params);
/* Leave the module as the rig loaded it: reload, once more after 500 ms. */
void lf_module_restore(void);

/*
 * The test livepatch of the hooked function (selftests/livepatch, loaded
 * by lazyfree_livepatch and lazyfree_coexist).
 */
#define LF_LIVEPATCH		"lf_livepatch"
#define LF_LIVEPATCH_DIR	"/sys/kernel/livepatch/" LF_LIVEPATCH
/* Wait (up to 120 s) for its transition to end; 0, or -ETIMEDOUT. */
int lf_livepatch_settle(void);
/*
 * Disable it, wait for the transition, unload it (up to 120 s); fine if
 * not loaded; a diagnostic line if it stays.
 */
void lf_livepatch_remove(void);

#define LF_KPROBES_LIST		"/sys/kernel/debug/kprobes/list"
/*
 * Is a kprobe armed that runs from a function's ftrace call site: on @sym,
 * or on any function if @sym is NULL?
 */
bool lf_ftrace_kprobe_armed(const char *sym);

int lf_msleep(int ms);
long lf_now_ms(void);

#endif
