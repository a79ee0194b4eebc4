/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lazyfreectl - shared declarations
 *
 * Every path the tool handles is a "logical" path as on a real node
 * (/sys/kernel/lazyfree/..., /sys/fs/cgroup/..., /proc/...). The helpers in
 * attr.c map it to the file system; with LAZYFREE_ROOT set (tests only) a
 * prefix is put in front. Messages always show the logical path.
 */
#ifndef LAZYFREECTL_H
#define LAZYFREECTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#define LF_SYSFS	"/sys/kernel/lazyfree"
#define LF_CGROUPS	LF_SYSFS "/cgroups"
#define LF_PARAMS	"/sys/module/lazyfree/parameters"
#define LF_PATH_MAX	4096
#define LF_ATTR_MAX	4096
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

enum lf_mode {
	LF_MODE_FREE,
	LF_MODE_DONTNEED,
	LF_MODE_INHERIT,
	LF_MODE_INVALID,
};

enum lf_hierarchy {
	LF_V2,
	LF_V1,
};

/* attr.c: file access below the (test-only) root prefix, errors */
extern const char *lf_progname;
void lf_root_init(void);
bool lf_root_overridden(void);
int lf_real_path(const char *logical, char *out, size_t size);
const char *lf_logical_path(const char *real);
int lf_open(const char *logical, int flags);
FILE *lf_fopen(const char *logical);
int lf_stat(const char *logical, struct stat *st);
int lf_read_attr(const char *logical, char *buf, size_t size);
int lf_read_attr_report(const char *logical, char *buf, size_t size);
int lf_write_attr(const char *logical, const char *val);
int lf_read_u64(const char *logical, uint64_t *val);
int lf_parse_u64(const char *s, uint64_t *val);
void lf_err(const char *subject, const char *what, const char *value, int err);
void lf_errmsg(const char *subject, const char *what, const char *value,
	       const char *reason);
void lf_size_human(uint64_t bytes, char *buf, size_t size);

/* mode.c-like helpers (in attr.c) */
enum lf_mode lf_mode_parse(const char *s);
const char *lf_mode_name(enum lf_mode mode);

/* cgroup.c: hierarchy mount and CGROUP argument resolution */
struct lf_cgroup {
	uint64_t id;
	char rel[LF_PATH_MAX];	/* path inside the hierarchy: "/" or "/a/b" */
	char abs[LF_PATH_MAX];	/* logical absolute path of the directory */
	bool have_dir;		/* rel/abs are known */
};

int lf_module_check(void);
int lf_hierarchy(enum lf_hierarchy *h);
int lf_mount_point(enum lf_hierarchy h, char *out, size_t size);
int lf_resolve(const char *arg, struct lf_cgroup *cg, bool report);
int lf_id_to_dir(uint64_t id, struct lf_cgroup *cg);
bool lf_is_tracked(uint64_t id);
int lf_track(uint64_t id, bool *added);
typedef int (*lf_proc_fn)(long pid, void *arg);
int lf_for_each_proc(const char *dir, bool subtree, lf_proc_fn fn, void *arg);
int lf_lazyfree(const char *dir, bool subtree, uint64_t *sum);
bool lf_is_pattern(const char *arg);
int lf_glob(const char *pattern, struct lf_cgroup **out, size_t *n);
void lf_cgroup_attr(uint64_t id, const char *name, char *out, size_t size);

/* apply.c */
int lf_cmd_apply_file(const char *file, bool prune, bool check_only);

/* reclaim.c */
int lf_pageout_lazyfree(const char *dir, bool dry_run, uint64_t *bytes);

/* metrics.c */
int lf_cmd_metrics_print(void);
int lf_module_version(char *buf, size_t size);

/* tracked cgroups as read from /sys/kernel/lazyfree/cgroups */
struct lf_entry {
	uint64_t id;
	char path[LF_PATH_MAX];
	enum lf_mode mode;
	enum lf_mode effective;
	uint64_t freed;
	uint64_t rewritten;
	uint64_t pinned;
	uint64_t lazyfree;	/* LazyFree now; filled only by those who ask */
};

int lf_read_entries(struct lf_entry **entries, size_t *n, int *failed);
int lf_entry_lazyfree(const char *mnt, const struct lf_entry *e, uint64_t *sum);

#endif /* LAZYFREECTL_H */
