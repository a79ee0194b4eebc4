// SPDX-License-Identifier: GPL-2.0
/*
 * lazyfreectl - Prometheus text exposition (format 0.0.4)
 *
 * Written for node_exporter's textfile collector: HELP and TYPE before each
 * family, one sample per line, label values escaped (backslash, quote, newline).
 * Node-wide counters come from /sys/kernel/lazyfree/{free,rewritten}_bytes,
 * per-cgroup ones from cgroups/<id>/; the cgroup label is the path inside
 * the hierarchy, as in the module's path file and in /proc/PID/cgroup:
 * the form of cAdvisor's "id" label, so the two join.
 *
 * lazyfree_up and lazyfree_build_info come first and always: without the
 * module, or with a file of it unreadable, lazyfree_up is 0 and nothing
 * else follows, so that a stale or partial picture is never served.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "lazyfreectl.h"

static void print_label_value(const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		default:
			putchar(*s);
		}
	}
}

static void family(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * While a removed cgroup's directory is still listed (up to ~2 s) a new
 * cgroup of the same path may already be tracked; keep one sample per path
 * (the live one, i.e. the one the read entries sort last: the newest id).
 */
static bool shadowed(const struct lf_entry *e, size_t n, size_t i)
{
	return i + 1 < n && !strcmp(e[i].path, e[i + 1].path);
}

/* @field: offsetof(struct lf_entry, <a uint64_t counter>) */
static void per_cgroup(const char *name, const struct lf_entry *e, size_t n,
		       size_t field)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (shadowed(e, n, i))
			continue;
		printf("%s{cgroup=\"", name);
		print_label_value(e[i].path);
		printf("\"} %llu\n", (unsigned long long)
		       *(const uint64_t *)((const char *)&e[i] + field));
	}
}

static const char * const node_attrs[] = {
	"enabled", "free_bytes", "rewritten_bytes", "pinned_bytes",
};

struct node {
	uint64_t v[ARRAY_SIZE(node_attrs)];
	char def[64];
	char hier[64];
	char version[64];
	char funcs[LF_ATTR_MAX];	/* hooked functions, comma-separated */
	char mechs[LF_ATTR_MAX];	/* their mechanisms, in the same order */
	struct lf_entry *e;
	size_t n;
};

/* "<function> <mechanism> [untested]" per line -> two comma lists */
static int read_hooks(struct node *nd)
{
	char buf[LF_ATTR_MAX], *line, *save = NULL;
	size_t fl = 0, ml = 0;
	int ret = lf_read_attr_report(LF_SYSFS "/hook", buf, sizeof(buf));

	for (line = strtok_r(buf, "\n", &save); !ret && line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *mech = strchr(line, ' '), *end;

		if (mech) {
			*mech++ = '\0';
			end = strchr(mech, ' ');
			if (end)
				*end = '\0';
		}
		fl += snprintf(nd->funcs + fl, sizeof(nd->funcs) - fl, "%s%s",
			       fl ? "," : "", line);
		ml += snprintf(nd->mechs + ml, sizeof(nd->mechs) - ml, "%s%s",
			       ml ? "," : "", mech ? mech : "");
		if (fl >= sizeof(nd->funcs) || ml >= sizeof(nd->mechs))
			ret = -EOVERFLOW;
	}
	return ret;
}

/* The module's state; any failure (reported) makes lazyfree_up 0. */
static int read_node(struct node *nd)
{
	char path[LF_PATH_MAX], mnt[LF_PATH_MAX];
	enum lf_hierarchy h;
	size_t i;
	int failed, ret;

	ret = lf_module_check();
	for (i = 0; !ret && i < ARRAY_SIZE(node_attrs); i++) {
		snprintf(path, sizeof(path), LF_SYSFS "/%s", node_attrs[i]);
		ret = lf_read_u64(path, &nd->v[i]);
		if (ret < 0)
			lf_err(path, "read failed", NULL, ret);
	}
	if (!ret)
		ret = lf_read_attr_report(LF_SYSFS "/default_mode", nd->def,
				     sizeof(nd->def));
	if (!ret)
		ret = lf_read_attr_report(LF_SYSFS "/hierarchy", nd->hier,
				     sizeof(nd->hier));
	if (!ret)
		ret = read_hooks(nd);
	if (!ret)
		ret = lf_hierarchy(&h);
	if (!ret)
		ret = lf_mount_point(h, mnt, sizeof(mnt));
	if (!ret)
		ret = lf_read_entries(&nd->e, &nd->n, &failed);
	if (!ret && failed)
		ret = -EIO;
	for (i = 0; !ret && i < nd->n; i++) {
		ret = lf_entry_lazyfree(mnt, &nd->e[i], &nd->e[i].lazyfree);
		if (ret == -ENOENT)	/* removed: no processes left */
			ret = 0;
	}
	return ret;
}

static void build_info(const struct node *nd, bool up)
{
	struct utsname u;
	const char *labels[][2] = {
		{ "tool_version", LAZYFREE_VERSION },
		{ "module_version", nd->version },
		{ "kernel", uname(&u) ? "" : u.release },
		{ "hook", up ? nd->funcs : "" },
		{ "mechanism", up ? nd->mechs : "" },
	};
	size_t i;

	family("lazyfree_build_info", "gauge",
	       "Constant 1; labels give the versions of lazyfreectl and the module, the kernel release, the hooked functions and their mechanisms.");
	printf("lazyfree_build_info{");
	for (i = 0; i < ARRAY_SIZE(labels); i++) {
		printf("%s%s=\"", i ? "," : "", labels[i][0]);
		print_label_value(labels[i][1]);
		putchar('"');
	}
	printf("} 1\n");
}

static void node_metrics(const struct node *nd)
{
	const uint64_t *v = nd->v;
	size_t i, n = nd->n;

	family("lazyfree_enabled", "gauge",
	       "1 if lazyfree acts on MADV_FREE calls, 0 if its probes are off.");
	printf("lazyfree_enabled %llu\n", (unsigned long long)v[0]);
	family("lazyfree_info", "gauge",
	       "Constant 1; labels give the default mode and cgroup hierarchy.");
	printf("lazyfree_info{default_mode=\"");
	print_label_value(nd->def);
	printf("\",hierarchy=\"");
	print_label_value(nd->hier);
	printf("\"} 1\n");
	family("lazyfree_cgroups", "gauge", "Cgroups tracked by the module.");
	printf("lazyfree_cgroups %zu\n", n);
	family("lazyfree_node_freed_bytes_total", "counter",
	       "Bytes of private anonymous memory advised MADV_FREE on this node since the module was loaded.");
	printf("lazyfree_node_freed_bytes_total %llu\n",
	       (unsigned long long)v[1]);
	family("lazyfree_node_rewritten_bytes_total", "counter",
	       "Of those, bytes dropped at once because the mode was dontneed.");
	printf("lazyfree_node_rewritten_bytes_total %llu\n",
	       (unsigned long long)v[2]);
	family("lazyfree_node_pinned_bytes_total", "counter",
	       "Of those advised, bytes the mode dontneed left to MADV_FREE because the process pins pages.");
	printf("lazyfree_node_pinned_bytes_total %llu\n",
	       (unsigned long long)v[3]);
	family("lazyfree_freed_bytes_total", "counter",
	       "Bytes advised MADV_FREE by the cgroup's own processes (not its descendants').");
	per_cgroup("lazyfree_freed_bytes_total", nd->e, n,
		   offsetof(struct lf_entry, freed));
	family("lazyfree_rewritten_bytes_total", "counter",
	       "Of those, bytes dropped at once because the cgroup's effective mode was dontneed.");
	per_cgroup("lazyfree_rewritten_bytes_total", nd->e, n,
		   offsetof(struct lf_entry, rewritten));
	family("lazyfree_pinned_bytes_total", "counter",
	       "Of those advised, bytes the effective mode dontneed left to MADV_FREE because the process pins pages.");
	per_cgroup("lazyfree_pinned_bytes_total", nd->e, n,
		   offsetof(struct lf_entry, pinned));
	family("lazyfree_lazyfree_bytes", "gauge",
	       "Memory the cgroup's own processes have lazily freed and still hold (LazyFree of smaps_rollup); part of the cgroup's memory usage that the kernel reclaims first.");
	per_cgroup("lazyfree_lazyfree_bytes", nd->e, n,
		   offsetof(struct lf_entry, lazyfree));
	family("lazyfree_cgroup_dontneed", "gauge",
	       "1 if the cgroup's effective mode is dontneed, 0 if free.");
	for (i = 0; i < n; i++) {
		if (shadowed(nd->e, n, i))
			continue;
		printf("lazyfree_cgroup_dontneed{cgroup=\"");
		print_label_value(nd->e[i].path);
		printf("\"} %d\n", nd->e[i].effective == LF_MODE_DONTNEED);
	}
}

/*
 * Always a complete exposition: 0 once it is written, whether or not the
 * module is up; -EIO when stdout failed.
 */
int lf_cmd_metrics_print(void)
{
	struct node nd = { .e = NULL };
	bool up;

	if (lf_module_version(nd.version, sizeof(nd.version)) < 0)
		nd.version[0] = '\0';
	up = !read_node(&nd);
	family("lazyfree_up", "gauge",
	       "1 if the lazyfree module is loaded and was read; 0 if not, and then no other lazyfree sample but lazyfree_build_info follows.");
	printf("lazyfree_up %d\n", up);
	build_info(&nd, up);
	if (up)
		node_metrics(&nd);
	free(nd.e);
	if (fflush(stdout) || ferror(stdout)) {
		lf_err("stdout", "write failed", NULL, errno ? errno : EIO);
		return -EIO;
	}
	return 0;
}
