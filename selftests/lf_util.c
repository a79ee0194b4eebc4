// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the lazyfree selftests. See lf_util.h.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <linux/io_uring.h>
#include <linux/userfaultfd.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lf_util.h"

/* as kselftest.h has it; this file does not include kselftest.h */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

size_t lf_pagesize = 4096;

static void __attribute__((constructor)) lf_init(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	if (ps > 0)
		lf_pagesize = ps;
}

size_t lf_thp_size(void)
{
	uint64_t v;

	if (lf_read_u64_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", &v))
		return 0;
	return v;
}

size_t lf_hugetlb_size(void)
{
	char buf[8192], *p;

	if (lf_read_file("/proc/meminfo", buf, sizeof(buf)))
		return 0;
	p = strstr(buf, "Hugepagesize:");
	return p ? strtoull(p + strlen("Hugepagesize:"), NULL, 10) << 10 : 0;
}

int lf_read_file(const char *path, char *buf, size_t size)
{
	ssize_t n, total = 0;
	int fd, err;

	if (!size)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, buf + total, size - 1 - total);
		if (n < 0) {
			err = -errno;
			close(fd);
			return err;
		}
		if (n == 0 || (size_t)(total + n) >= size - 1) {
			total += n;
			break;
		}
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	if (total > 0 && buf[total - 1] == '\n')
		buf[total - 1] = '\0';
	return 0;
}

static int lf_write_open(const char *path, const void *buf, size_t len,
			 int flags)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;	/* a short write is not a valid store */
	close(fd);
	return err;
}

int lf_write_buf(const char *path, const void *buf, size_t len)
{
	return lf_write_open(path, buf, len, 0);
}

int lf_write_file(const char *path, const char *s)
{
	return lf_write_open(path, s, strlen(s), 0);
}

int lf_write_flags(const char *path, const char *s, int flags)
{
	return lf_write_open(path, s, strlen(s), flags);
}

char *lf_kmsg_read(void)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;

	if (size <= 0)
		return NULL;
	buf = malloc(size + 1);
	if (!buf)
		return NULL;
	size = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (size < 0) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	return buf;
}

static int parse_u64(const char *s, uint64_t *val)
{
	char *end;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*val = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

int lf_read_u64_file(const char *path, uint64_t *val)
{
	char buf[64];
	int err = lf_read_file(path, buf, sizeof(buf));

	return err ? err : parse_u64(buf, val);
}

static void attr_path(char *out, size_t size, const char *attr)
{
	snprintf(out, size, LF_SYSFS "/%s", attr);
}

int lf_attr_read(const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];

	attr_path(path, sizeof(path), attr);
	return lf_read_file(path, buf, size);
}

int lf_attr_write(const char *attr, const char *s)
{
	char path[PATH_MAX];

	attr_path(path, sizeof(path), attr);
	return lf_write_file(path, s);
}

int lf_attr_u64(const char *attr, uint64_t *val)
{
	char path[PATH_MAX];

	attr_path(path, sizeof(path), attr);
	return lf_read_u64_file(path, val);
}

static void cg_attr_path(char *out, size_t size, uint64_t id, const char *attr)
{
	snprintf(out, size, LF_SYSFS "/cgroups/%llu/%s",
		 (unsigned long long)id, attr);
}

int lf_cg_attr_read(uint64_t id, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];

	cg_attr_path(path, sizeof(path), id, attr);
	return lf_read_file(path, buf, size);
}

int lf_cg_attr_write(uint64_t id, const char *attr, const char *s)
{
	char path[PATH_MAX];

	cg_attr_path(path, sizeof(path), id, attr);
	return lf_write_file(path, s);
}

int lf_cg_attr_u64(uint64_t id, const char *attr, uint64_t *val)
{
	char path[PATH_MAX];

	cg_attr_path(path, sizeof(path), id, attr);
	return lf_read_u64_file(path, val);
}

bool lf_cg_tracked(uint64_t id)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), LF_SYSFS "/cgroups/%llu",
		 (unsigned long long)id);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

long lf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int lf_livepatch_settle(void)
{
	char buf[16];

	for (int i = 0; i < 1200; i++) {
		if (lf_read_file(LF_LIVEPATCH_DIR "/transition", buf, sizeof(buf)) ||
		    !strcmp(buf, "0"))
			return 0;	/* over, or no livepatch */
		lf_msleep(100);
	}
	return -ETIMEDOUT;
}

/*
 * After the transition a work item frees the patch and only then drops
 * its reference on the module; under DEBUG_KOBJECT_RELEASE each of its
 * kobjects goes up to 4 s late, and the debug kernel took more than the
 * 10 s this once waited: the next insmod then met the old module (EEXIST).
 */
void lf_livepatch_remove(void)
{
	if (!access(LF_LIVEPATCH_DIR, F_OK)) {
		lf_write_file(LF_LIVEPATCH_DIR "/enabled", "0");
		lf_livepatch_settle();
	}
	for (int i = 0; i < 1200; i++) {
		if (!syscall(__NR_delete_module, LF_LIVEPATCH, O_NONBLOCK) ||
		    errno == ENOENT)
			return;
		lf_msleep(100);
	}
	fprintf(stderr, "# %s still loaded after 120 s: %s\n", LF_LIVEPATCH,
		strerror(errno));
}

/* A line of the list names @sym at an offset ("vfs_read+0x4") and "[FTRACE]". */
bool lf_ftrace_kprobe_armed(const char *sym)
{
	FILE *f = fopen(LF_KPROBES_LIST, "re");
	size_t cap = 0, len = sym ? strlen(sym) : 0;
	char *line = NULL;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		const char *p = sym ? strstr(line, sym) : line;

		found = p && (!sym || (p > line && isspace((unsigned char)p[-1]) && p[len] == '+')) &&
			strstr(line, "[FTRACE]");
	}
	free(line);
	fclose(f);
	return found;
}

int lf_msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	return 0;
}

/*
 * The directory with all its files: kobject_add() makes the directory
 * first and then the files of its group, in the order of module/sysfs.c's
 * lf_cgroup_attrs[], whose last is pinned_bytes.
 */
static bool lf_cg_complete(uint64_t id)
{
	char path[PATH_MAX];

	cg_attr_path(path, sizeof(path), id, "pinned_bytes");
	return access(path, F_OK) == 0;
}

int lf_wait_tracked(uint64_t id, bool want, int timeout_ms)
{
	long start = lf_now_ms();

	for (;;) {
		long waited = lf_now_ms() - start;

		if ((want ? lf_cg_complete(id) : lf_cg_tracked(id)) == want)
			return (int)waited;
		if (waited > timeout_ms)
			return -1;
		lf_msleep(20);
	}
}

int lf_track(uint64_t id)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	err = lf_attr_write("cgroups/add", buf);
	return err == -EEXIST ? 0 : err;
}

int lf_untrack(uint64_t id)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)id);
	err = lf_attr_write("cgroups/remove", buf);
	return err == -ENOENT ? 0 : err;
}

bool lf_module_loaded(void)
{
	struct stat st;

	return stat(LF_SYSFS "/enabled", &st) == 0;
}

const char *lf_cgroup_root(void)
{
	static char root[PATH_MAX];
	const char *env = getenv("CGROUP_ROOT");
	struct stat st;

	if (root[0])
		return root;
	if (env && *env)
		snprintf(root, sizeof(root), "%s", env);
	else if (!stat("/sys/fs/cgroup/cgroup.controllers", &st))
		snprintf(root, sizeof(root), "/sys/fs/cgroup");
	else if (!stat("/sys/fs/cgroup/memory/cgroup.procs", &st))
		snprintf(root, sizeof(root), "/sys/fs/cgroup/memory");
	else
		snprintf(root, sizeof(root), "/sys/fs/cgroup");
	/* strip trailing slashes */
	for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
		root[n - 1] = '\0';
	return root;
}

const char *lf_lane(void)
{
	const char *env = getenv("LAZYFREE_LANE");
	char path[PATH_MAX];
	struct stat st;

	if (env && *env)
		return env;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", lf_cgroup_root());
	return stat(path, &st) ? "v1" : "v2";
}

const char *lf_hook_env(void)
{
	const char *env = getenv("LAZYFREE_HOOK");

	return env && *env ? env : NULL;
}

int lf_count_tracked(void)
{
	DIR *d = opendir(LF_SYSFS "/cgroups");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] >= '0' && de->d_name[0] <= '9';
	closedir(d);
	return n;
}

static int lf_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int lf_tracked_ids(uint64_t *ids, int max)
{
	DIR *d = opendir(LF_SYSFS "/cgroups");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) && n < max) {
		char *end;
		uint64_t v = strtoull(de->d_name, &end, 10);

		if (de->d_name[0] >= '0' && de->d_name[0] <= '9' && !*end)
			ids[n++] = v;
	}
	closedir(d);
	qsort(ids, n, sizeof(*ids), lf_cmp_u64);
	return n;
}

bool lf_debug_kernel(void)
{
	const char *env = getenv("LAZYFREE_DEBUG_KERNEL");

	return env && !strcmp(env, "1");
}

bool lf_thorough(void)
{
	const char *env = getenv("LAZYFREE_THOROUGH");

	return !env || strcmp(env, "0");
}

int lf_cg_id(const char *path, uint64_t *id)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	*id = st.st_ino;
	return 0;
}

static int rmdir_retry(const char *path)
{
	for (int i = 0; i < 100; i++) {
		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		lf_msleep(20);
	}
	return -EBUSY;
}

/* Remove a cgroup directory and its sub-cgroups, deepest first. */
static int rmdir_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (!lstat(sub, &st) && S_ISDIR(st.st_mode))
			rmdir_tree(sub);
	}
	closedir(d);
	return rmdir_retry(path);
}

int lf_cg_create(struct lf_cg *cg, const char *rel)
{
	int err;

	memset(cg, 0, sizeof(*cg));
	snprintf(cg->path, sizeof(cg->path), "%s/%s", lf_cgroup_root(), rel);
	snprintf(cg->rel, sizeof(cg->rel), "/%s", rel);
	rmdir_tree(cg->path);
	if (mkdir(cg->path, 0755))
		return -errno;
	cg->created = true;
	err = lf_cg_id(cg->path, &cg->id);
	return err;
}

int lf_cg_destroy(struct lf_cg *cg)
{
	int err;

	if (!cg->created)
		return 0;
	if (cg->id)
		lf_untrack(cg->id);
	err = rmdir_tree(cg->path);
	cg->created = false;
	return err;
}

int lf_cg_enter(const char *cgpath)
{
	char path[PATH_MAX], buf[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cgpath);
	snprintf(buf, sizeof(buf), "%d\n", getpid());
	return lf_write_file(path, buf);
}

struct lf_result *lf_result_alloc(void)
{
	void *p = mmap(NULL, sizeof(struct lf_result), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void lf_result_free(struct lf_result *r)
{
	if (r)
		munmap(r, sizeof(*r));
}

pid_t lf_fork_into(const char *cgpath, char *msg, size_t len)
{
	pid_t pid;
	int err;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(msg, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0 && cgpath) {
		err = lf_cg_enter(cgpath);
		if (err) {
			snprintf(msg, len, "%s/cgroup.procs: %s", cgpath,
				 strerror(-err));
			_exit(3);
		}
	}
	return pid;
}

int lf_run(const char *cgpath, lf_case_fn fn, const void *arg,
	   struct lf_result *r)
{
	int status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	memset(r->expect, 'X', sizeof(r->expect));
	pid = lf_fork_into(cgpath, r->msg, sizeof(r->msg));
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(r, arg);
		r->done = 1;
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid) {
		snprintf(r->msg, sizeof(r->msg), "waitpid: %s", strerror(errno));
		return -1;
	}
	if (WIFSIGNALED(status)) {
		snprintf(r->msg, sizeof(r->msg), "case child killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) || !r->done) {
		if (!r->msg[0])
			snprintf(r->msg, sizeof(r->msg),
				 "case child exited with status %d",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -1;
	}
	return 0;
}

void lf_skip(struct lf_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->skip = 1;
}

void lf_failf(struct lf_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->fail = 1;
}

void lf_fill(struct lf_result *r, int first, char *addr, int npages,
	     unsigned char base, char expect)
{
	for (int i = 0; i < npages && first + i < LF_MAXPAGES; i++) {
		unsigned char v = (unsigned char)(base + i % 64);

		if (!v)
			v = 1;
		if (addr)
			addr[(size_t)i * lf_pagesize] = (char)v;
		r->before[first + i] = v;
		r->expect[first + i] = expect;
	}
	if (first + npages > r->npages)
		r->npages = first + npages;
}

void lf_read_after(struct lf_result *r, int first, const char *addr,
		   int npages)
{
	for (int i = 0; i < npages && first + i < LF_MAXPAGES; i++)
		r->after[first + i] =
			*(const volatile unsigned char *)(addr + (size_t)i * lf_pagesize);
	if (first + npages > r->npages)
		r->npages = first + npages;
}

/*
 * Parse "Field:   123 kB" lines from a buffer read with read(2) (no stdio,
 * no malloc: the measurement must not allocate anonymous memory itself).
 */
static long find_kb(const char *buf, const char *field)
{
	size_t flen = strlen(field);
	const char *p = buf;

	while (p && *p) {
		if (!strncmp(p, field, flen) && p[flen] == ':')
			return strtol(p + flen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static char rollup_buf[16384];

long lf_rollup_kb(const char *field)
{
	if (lf_read_file("/proc/self/smaps_rollup", rollup_buf,
			 sizeof(rollup_buf)))
		return -1;
	return find_kb(rollup_buf, field);
}

long lf_status_kb(const char *field)
{
	char buf[4096];

	if (lf_read_file("/proc/self/status", buf, sizeof(buf)))
		return -1;
	return find_kb(buf, field);
}

long lf_smaps_kb(const void *addr, const char *field)
{
	static char buf[1 << 20];
	unsigned long a = (unsigned long)addr;
	char *p;

	if (lf_read_file("/proc/self/smaps", buf, sizeof(buf)))
		return -1;
	for (p = buf; p && *p; ) {
		unsigned long s, e;

		if (sscanf(p, "%lx-%lx ", &s, &e) == 2 && a >= s && a < e) {
			char *next = strchr(p, '\n');

			/* VMA header; fields follow until the next header */
			while (next) {
				unsigned long s2, e2;

				next++;
				if (sscanf(next, "%lx-%lx ", &s2, &e2) == 2)
					break;
				if (!strncmp(next, field, strlen(field)) &&
				    next[strlen(field)] == ':')
					return strtol(next + strlen(field) + 1,
						      NULL, 10);
				next = strchr(next, '\n');
			}
			return -1;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

void lf_mem_before(struct lf_result *r)
{
	/* fault the buffer in now so that reading it adds no anon memory */
	memset(rollup_buf, 1, sizeof(rollup_buf));
	r->anon_before_kb = lf_rollup_kb("Anonymous");
	r->lazy_before_kb = find_kb(rollup_buf, "LazyFree");
}

void lf_mem_after(struct lf_result *r)
{
	r->anon_after_kb = lf_rollup_kb("Anonymous");
	r->lazy_after_kb = find_kb(rollup_buf, "LazyFree");
}

int lf_global_save(struct lf_global *g)
{
	int err = lf_attr_read("enabled", g->enabled, sizeof(g->enabled));

	if (!err)
		err = lf_attr_read("default_mode", g->default_mode,
				   sizeof(g->default_mode));
	return err;
}

int lf_global_restore(const struct lf_global *g)
{
	char cur[32];
	int err = 0;

	if (!lf_attr_read("default_mode", cur, sizeof(cur)) &&
	    strcmp(cur, g->default_mode))
		err = lf_attr_write("default_mode", g->default_mode);
	if (!lf_attr_read("enabled", cur, sizeof(cur)) &&
	    strcmp(cur, g->enabled)) {
		int e = lf_attr_write("enabled", g->enabled);

		if (!err)
			err = e;
	}
	return err;
}

char *lf_map_anon(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	return p;
}

int lf_tmpfile(size_t len, unsigned char c)
{
	const char * const dirs[] = { getenv("TMPDIR"), "/tmp", "/dev/shm", "/var/tmp", "." };
	char buf[4096];
	int fd = -1;

	for (size_t i = 0; i < ARRAY_SIZE(dirs) && fd < 0; i++) {
		char path[PATH_MAX];

		if (!dirs[i])
			continue;
		snprintf(path, sizeof(path), "%s/lazyfree-st-XXXXXX", dirs[i]);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		fd = memfd_create("lazyfree-st", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	memset(buf, c, sizeof(buf));
	for (size_t done = 0; done < len; ) {
		size_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
		ssize_t w = write(fd, buf, n);

		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += w;
	}
	return fd;
}

char *lf_free_filled(struct lf_result *r, size_t len, int c)
{
	char *p = lf_map_anon(len);

	if (!p) {
		lf_failf(r, "mmap: %s", strerror(errno));
		return NULL;
	}
	memset(p, c, len);
	r->ret = madvise(p, len, MADV_FREE);
	r->err = errno;
	return p;
}

void lf_case_free_zeroes(struct lf_result *r, const void *arg)
{
	int npages = *(const int *)arg;
	char *p = lf_free_filled(r, npages * lf_pagesize, 0x5a);

	for (int i = 0; p && i < npages; i++)
		r->aux[0] += p[i * lf_pagesize] == 0;
}

/* An io_uring instance through raw syscalls (no liburing). */
struct lf_ring {
	int fd;
	unsigned int *sq_tail, *sq_array, *cq_head, *cq_tail;
	unsigned int sq_mask, cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	char *sq, *cq;
	size_t sq_sz, cq_sz, sqes_sz;
};

struct lf_ring *lf_ring_open(int *err)
{
	struct io_uring_params prm = { 0 };
	struct lf_ring *ring = calloc(1, sizeof(*ring));

	*err = ENOMEM;
	if (!ring)
		return NULL;
	ring->fd = syscall(__NR_io_uring_setup, 4, &prm);
	if (ring->fd < 0) {
		*err = errno;
		free(ring);
		return NULL;
	}
	ring->sq_sz = prm.sq_off.array + prm.sq_entries * sizeof(unsigned int);
	ring->cq_sz = prm.cq_off.cqes + prm.cq_entries * sizeof(struct io_uring_cqe);
	if (prm.features & IORING_FEAT_SINGLE_MMAP)
		ring->sq_sz = ring->cq_sz = ring->sq_sz > ring->cq_sz ?
					    ring->sq_sz : ring->cq_sz;
	ring->sqes_sz = prm.sq_entries * sizeof(struct io_uring_sqe);
	ring->sq = mmap(NULL, ring->sq_sz, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_POPULATE, ring->fd, IORING_OFF_SQ_RING);
	ring->cq = ring->sq;
	if (ring->sq != MAP_FAILED && !(prm.features & IORING_FEAT_SINGLE_MMAP))
		ring->cq = mmap(NULL, ring->cq_sz, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_POPULATE, ring->fd,
				IORING_OFF_CQ_RING);
	ring->sqes = mmap(NULL, ring->sqes_sz, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_POPULATE, ring->fd, IORING_OFF_SQES);
	if (ring->sq == MAP_FAILED || ring->cq == MAP_FAILED ||
	    ring->sqes == MAP_FAILED) {
		/* set up, then refused: a failure, not a missing feature */
		*err = 0;
		lf_ring_close(ring);
		return NULL;
	}
	ring->sq_tail = (unsigned int *)(ring->sq + prm.sq_off.tail);
	ring->sq_array = (unsigned int *)(ring->sq + prm.sq_off.array);
	ring->sq_mask = *(unsigned int *)(ring->sq + prm.sq_off.ring_mask);
	ring->cq_head = (unsigned int *)(ring->cq + prm.cq_off.head);
	ring->cq_tail = (unsigned int *)(ring->cq + prm.cq_off.tail);
	ring->cq_mask = *(unsigned int *)(ring->cq + prm.cq_off.ring_mask);
	ring->cqes = (struct io_uring_cqe *)(ring->cq + prm.cq_off.cqes);
	*err = 0;
	return ring;
}

void lf_ring_close(struct lf_ring *ring)
{
	if (!ring)
		return;
	if (ring->sqes && ring->sqes != MAP_FAILED)
		munmap(ring->sqes, ring->sqes_sz);
	if (ring->cq && ring->cq != MAP_FAILED && ring->cq != ring->sq)
		munmap(ring->cq, ring->cq_sz);
	if (ring->sq && ring->sq != MAP_FAILED)
		munmap(ring->sq, ring->sq_sz);
	close(ring->fd);
	free(ring);
}

/* Submit one SQE and wait for it: its result as a syscall's (-1 + errno). */
static long lf_ring_submit(struct lf_ring *ring, const struct io_uring_sqe *sqe)
{
	unsigned int tail = *ring->sq_tail, head;
	long res;

	ring->sqes[0] = *sqe;
	ring->sq_array[tail & ring->sq_mask] = 0;
	__atomic_store_n(ring->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, ring->fd, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0)
		return -1;
	head = *ring->cq_head;
	if (__atomic_load_n(ring->cq_tail, __ATOMIC_ACQUIRE) == head) {
		errno = EIO;
		return -1;
	}
	res = ring->cqes[head & ring->cq_mask].res;
	__atomic_store_n(ring->cq_head, head + 1, __ATOMIC_RELEASE);
	if (res < 0) {
		errno = -res;
		return -1;
	}
	return res;
}

long lf_ring_madvise(struct lf_ring *ring, void *addr, size_t len, int advice)
{
	struct io_uring_sqe sqe = {
		.opcode = IORING_OP_MADVISE,
		.fd = -1,
		.addr = (unsigned long)addr,
		.len = len,		/* off = 0: 6.12 falls back to len */
		.fadvise_advice = advice,
	};

	return lf_ring_submit(ring, &sqe);
}

int lf_ring_register_buffer(struct lf_ring *ring, void *addr, size_t len)
{
	struct iovec iov = { .iov_base = addr, .iov_len = len };

	return syscall(__NR_io_uring_register, ring->fd,
		       IORING_REGISTER_BUFFERS, &iov, 1) < 0 ? -1 : 0;
}

long lf_ring_write_fixed(struct lf_ring *ring, int fd, const void *addr,
			 size_t len, off_t off)
{
	struct io_uring_sqe sqe = {
		.opcode = IORING_OP_WRITE_FIXED,
		.fd = fd,
		.off = off,
		.addr = (unsigned long)addr,
		.len = len,
		.buf_index = 0,
	};

	return lf_ring_submit(ring, &sqe);
}

long lf_io_uring_madvise(void *addr, size_t len, int advice, int *skip)
{
	struct lf_ring *ring = lf_ring_open(skip);
	long res;

	if (!ring)
		return -1;
	res = lf_ring_madvise(ring, addr, len, advice);
	lf_ring_close(ring);
	return res;
}


static char lf_ko[PATH_MAX], lf_hook[32];

static int lf_module_params(void)
{
	const char *ko = getenv("LAZYFREE_KO");

	if (!ko || !*ko || access(ko, R_OK))
		return -ENOENT;
	snprintf(lf_ko, sizeof(lf_ko), "%s", ko);
	if (!lf_hook[0]) {
		if (lf_hook_env())
			snprintf(lf_hook, sizeof(lf_hook), "%s", lf_hook_env());
		else if (lf_read_file("/sys/module/lazyfree/parameters/hook",
				      lf_hook, sizeof(lf_hook)))
			snprintf(lf_hook, sizeof(lf_hook), "auto");
	}
	return 0;
}

bool lf_can_reload(void)
{
	return lf_module_params() == 0;
}

int lf_module_unload(void)
{
	int rc;

	if (lf_module_params())
		return -ENOENT;
	rc = system("rmmod lazyfree");
	return WIFEXITED(rc) && !WEXITSTATUS(rc) ? 0 : -EIO;
}

int lf_module_load_hook(const char *hook, const char *params)
{
	char cmd[PATH_MAX + 256];
	int rc;

	if (lf_module_params())
		return -ENOENT;
	snprintf(cmd, sizeof(cmd), "insmod %s hook=%s %s", lf_ko,
		 hook ? hook : lf_hook, params ? params : "");
	rc = system(cmd);
	return WIFEXITED(rc) && !WEXITSTATUS(rc) ? 0 : -EIO;
}

int lf_module_load(const char *params)
{
	return lf_module_load_hook(NULL, params);
}

void lf_module_restore(void)
{
	for (int i = 0; i < 2; i++) {
		if (i)
			lf_msleep(500);
		if (lf_module_loaded())
			lf_module_unload();
		if (!lf_module_load(NULL) && lf_module_loaded())
			return;
	}
}

struct lf_remap {
	struct lf_result *r;
	int uffd, filefd;
	char *p;
	const char *err;	/* what the monitor failed to do */
	long events;
};

/* The monitor: remap while the advising thread waits, then read. */
static void *lf_remap_monitor(void *arg)
{
	struct lf_remap *m = arg;
	struct pollfd pfd = { .fd = m->uffd, .events = POLLIN };
	size_t pg = lf_pagesize;
	struct uffd_msg msg;
	char *b, *c;

	if (poll(&pfd, 1, 10000) != 1) {
		m->err = "no userfaultfd event within 10 s";
		return NULL;
	}
	b = mmap(m->p, pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (m->filefd >= 0)
		c = mmap(m->p + pg, 7 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_FIXED, m->filefd, 0);
	else
		c = mmap(m->p + pg, 7 * pg, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (b == MAP_FAILED || c == MAP_FAILED) {
		m->err = "mmap MAP_FIXED over the registered VMA failed";
	} else {
		lf_fill(m->r, 0, b, 1, 0x50, 'Z');
		lf_fill(m->r, 1, c, 7, 0x60, 'K');
		if (m->filefd < 0 && mlock(c, 7 * pg))
			m->err = "mlock failed";
	}
	/* the advising thread goes on once the event is read */
	while (read(m->uffd, &msg, sizeof(msg)) == sizeof(msg))
		m->events += msg.event == UFFD_EVENT_REMOVE;
	return NULL;
}

void lf_uffd_remap_free(struct lf_result *r, bool c_file)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE,
	};
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct lf_remap m = { .r = r, .filefd = -1 };
	size_t pg = lf_pagesize;
	pthread_t t;
	char *area;

	/* A with a hole on each side, so that B and C merge with nothing */
	area = lf_map_anon(10 * pg);
	if (!area)
		return lf_failf(r, "mmap: %s", strerror(errno));
	munmap(area, pg);
	munmap(area + 9 * pg, pg);
	m.p = area + pg;
	memset(m.p, 0x11, 8 * pg);
	if (c_file) {
		m.filefd = lf_tmpfile(7 * pg, 'F');
		if (m.filefd < 0)
			return lf_failf(r, "temporary file: %s", strerror(errno));
	}
	m.uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (m.uffd < 0)
		return lf_skip(r, "userfaultfd: %s", strerror(errno));
	if (ioctl(m.uffd, UFFDIO_API, &api))
		return lf_skip(r, "UFFDIO_API with EVENT_REMOVE: %s", strerror(errno));
	reg.range.start = (unsigned long)m.p;
	reg.range.len = 8 * pg;
	if (ioctl(m.uffd, UFFDIO_REGISTER, &reg))
		return lf_skip(r, "UFFDIO_REGISTER: %s", strerror(errno));
	if (pthread_create(&t, NULL, lf_remap_monitor, &m))
		return lf_failf(r, "pthread_create failed");
	lf_mem_before(r);
	r->ret = madvise(m.p, 8 * pg, MADV_FREE);
	r->err = r->ret < 0 ? errno : 0;
	lf_mem_after(r);
	pthread_join(t, NULL);
	if (m.err)
		return lf_failf(r, "monitor: %s", m.err);
	lf_read_after(r, 0, m.p, 8);
	r->aux[2] = m.events;
}
