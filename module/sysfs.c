// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs.c - /sys/kernel/lazyfree: controls, counters, one directory per
 * tracked cgroup.  Stores parse and validate first and change nothing on
 * error.  See Documentation/ABI/testing/sysfs-kernel-lazyfree.
 */

#include <linux/cgroup.h>
#include <linux/kernfs.h>
#include <linux/kobject.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "lazyfree.h"

static struct kobject *lf_kobj;
static struct kobject *lf_cgroups_kobj;

/*
 * A store gets @count bytes and a NUL after them; a NUL among them would
 * hide what follows from the string parsers below.
 */
static bool lf_is_text(const char *buf, size_t count)
{
	return strnlen(buf, count) == count;
}

/* "free", "dontneed" and, where @inherit, "inherit"; one trailing newline */
static int lf_parse_mode(const char *buf, size_t count, bool inherit)
{
	int mode;

	if (!lf_is_text(buf, count))
		return -EINVAL;
	mode = sysfs_match_string(lf_mode_names, buf);

	if (mode < 0 || (mode == LF_MODE_INHERIT && !inherit))
		return -EINVAL;
	return mode;
}

/* A cgroup id: decimal, one trailing newline, nothing else. */
static int lf_parse_id(const char *buf, size_t count, u64 *id)
{
	if (!lf_is_text(buf, count) || kstrtou64(buf, 10, id) || !*id)
		return -EINVAL;
	return 0;
}

/* Top level */

static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%d\n", lf_hook_enabled());
}

static ssize_t enabled_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t count)
{
	int err;

	if (!lf_is_text(buf, count))
		err = -EINVAL;
	else if (sysfs_streq(buf, "1"))
		err = lf_hook_set_enabled(true);
	else if (sysfs_streq(buf, "0"))
		err = lf_hook_set_enabled(false);
	else
		err = -EINVAL;
	return err ? err : count;
}
static struct kobj_attribute enabled_attr = __ATTR_RW_MODE(enabled, 0644);

static ssize_t default_mode_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", lf_mode_names[lf_default_mode()]);
}

static ssize_t default_mode_store(struct kobject *kobj,
				  struct kobj_attribute *attr,
				  const char *buf, size_t count)
{
	int mode = lf_parse_mode(buf, count, false);

	if (mode < 0)
		return mode;
	lf_set_default_mode(mode);
	return count;
}
static struct kobj_attribute default_mode_attr =
	__ATTR_RW_MODE(default_mode, 0644);

static ssize_t hook_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return lf_hook_show(buf);
}
static struct kobj_attribute hook_attr = __ATTR_RO(hook);

static ssize_t hierarchy_show(struct kobject *kobj,
			      struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%s\n", lf_hierarchy_v1() ? "v1" : "v2");
}
static struct kobj_attribute hierarchy_attr = __ATTR_RO(hierarchy);

/*
 * The counters of struct lf_stats: the same attributes serve the node
 * (lf_kobj) and every cgroups/<id>/ directory.
 */
struct lf_stat_attr {
	struct kobj_attribute attr;
	size_t offset;			/* of a u64 in struct lf_stats */
};

static struct lf_cgroup *to_lf_cgroup(struct kobject *kobj)
{
	return container_of(kobj, struct lf_cgroup, kobj);
}

static ssize_t lf_stat_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	const struct lf_stat_attr *sa =
		container_of(attr, struct lf_stat_attr, attr);
	struct lf_stats s;

	if (kobj == lf_kobj)
		lf_node_stats(&s);
	else
		lf_cgroup_stats(to_lf_cgroup(kobj), &s);
	return sysfs_emit(buf, "%llu\n", *(u64 *)((char *)&s + sa->offset));
}

#define LF_STAT_ATTR(_name)						\
	static struct lf_stat_attr _name##_attr = {			\
		.attr	= __ATTR(_name, 0444, lf_stat_show, NULL),	\
		.offset	= offsetof(struct lf_stats, _name),		\
	}

LF_STAT_ATTR(free_bytes);
LF_STAT_ATTR(rewritten_bytes);
LF_STAT_ATTR(pinned_bytes);

static struct attribute *lf_attrs[] = {
	&enabled_attr.attr,
	&default_mode_attr.attr,
	&hook_attr.attr,
	&hierarchy_attr.attr,
	&free_bytes_attr.attr.attr,
	&rewritten_bytes_attr.attr.attr,
	&pinned_bytes_attr.attr.attr,
	NULL,
};

static const struct attribute_group lf_attr_group = {
	.attrs = lf_attrs,
};

/* cgroups/ */

static ssize_t add_store(struct kobject *kobj, struct kobj_attribute *attr,
			 const char *buf, size_t count)
{
	u64 id;
	int err = lf_parse_id(buf, count, &id);

	if (!err)
		err = lf_cgroup_add(id);
	return err ? err : count;
}
static struct kobj_attribute add_attr = __ATTR_WO(add);

static ssize_t remove_store(struct kobject *kobj, struct kobj_attribute *attr,
			    const char *buf, size_t count)
{
	u64 id;
	int err = lf_parse_id(buf, count, &id);

	if (!err)
		err = lf_cgroup_remove(id);
	return err ? err : count;
}
static struct kobj_attribute remove_attr = __ATTR_WO(remove);

static struct attribute *lf_cgroups_attrs[] = {
	&add_attr.attr,
	&remove_attr.attr,
	NULL,
};

static const struct attribute_group lf_cgroups_group = {
	.attrs = lf_cgroups_attrs,
};

/* cgroups/<id>/ */

static ssize_t mode_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct lf_cgroup *lc = to_lf_cgroup(kobj);

	return sysfs_emit(buf, "%s\n", lf_mode_names[READ_ONCE(lc->mode)]);
}

/* No lf_lock here: removal drains this store while holding it. */
static ssize_t mode_store(struct kobject *kobj, struct kobj_attribute *attr,
			  const char *buf, size_t count)
{
	int mode = lf_parse_mode(buf, count, true);

	if (mode < 0)
		return mode;
	lf_cgroup_set_mode(to_lf_cgroup(kobj), mode);
	return count;
}
static struct kobj_attribute mode_attr = __ATTR_RW_MODE(mode, 0644);

static ssize_t effective_mode_show(struct kobject *kobj,
				   struct kobj_attribute *attr, char *buf)
{
	enum lf_mode mode = lf_cgroup_effective_mode(to_lf_cgroup(kobj));

	return sysfs_emit(buf, "%s\n", lf_mode_names[mode]);
}
static struct kobj_attribute effective_mode_attr = __ATTR_RO(effective_mode);

static ssize_t path_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	struct lf_cgroup *lc = to_lf_cgroup(kobj);
	int len;

	/*
	 * A show may fill PAGE_SIZE - 1 bytes: the path, its newline.  For
	 * a path that does not fit, kernfs returns its full length on 5.10
	 * and 6.1 (strlcpy), but truncates in silence and returns at most
	 * buflen - 1 since strlcpy went (6.12 on).  Asked for the whole
	 * page, either way a path with no room left for the newline comes
	 * back as PAGE_SIZE - 1 or more.
	 */
	len = kernfs_path_from_node(lc->cgrp->kn, NULL, buf, PAGE_SIZE);
	if (len < 0)
		return len;
	if (len >= PAGE_SIZE - 1)
		return -ENAMETOOLONG;
	buf[len++] = '\n';
	return len;
}
static struct kobj_attribute path_attr = __ATTR_RO(path);

static struct attribute *lf_cgroup_attrs[] = {
	&mode_attr.attr,
	&effective_mode_attr.attr,
	&path_attr.attr,
	&free_bytes_attr.attr.attr,
	&rewritten_bytes_attr.attr.attr,
	&pinned_bytes_attr.attr.attr,
	NULL,
};
ATTRIBUTE_GROUPS(lf_cgroup);

static void lf_cgroup_kobj_release(struct kobject *kobj)
{
	lf_cgroup_release(to_lf_cgroup(kobj));
}

static const struct kobj_type lf_cgroup_ktype = {
	.release	= lf_cgroup_kobj_release,
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= lf_cgroup_groups,
};

/* On failure the last reference is dropped: @lc is freed. */
int lf_sysfs_add_cgroup(struct lf_cgroup *lc)
{
	int err;

	err = kobject_init_and_add(&lc->kobj, lf_ktype(&lf_cgroup_ktype),
				   lf_cgroups_kobj, "%llu", lc->id);
	if (err)
		kobject_put(&lc->kobj);
	return err;
}

int lf_sysfs_init(void)
{
	int err;

	lf_kobj = kobject_create_and_add(KBUILD_MODNAME, kernel_kobj);
	if (!lf_kobj)
		return -ENOMEM;
	err = sysfs_create_group(lf_kobj, &lf_attr_group);
	if (err)
		goto err_put;

	lf_cgroups_kobj = kobject_create_and_add("cgroups", lf_kobj);
	if (!lf_cgroups_kobj) {
		err = -ENOMEM;
		goto err_remove;
	}
	err = sysfs_create_group(lf_cgroups_kobj, &lf_cgroups_group);
	if (err)
		goto err_put_cgroups;
	return 0;

err_put_cgroups:
	kobject_put(lf_cgroups_kobj);
err_remove:
	sysfs_remove_group(lf_kobj, &lf_attr_group);
err_put:
	kobject_put(lf_kobj);
	return err;
}

/* First step of unload: no store can enable the hook or add a cgroup. */
void lf_sysfs_remove_controls(void)
{
	sysfs_remove_group(lf_cgroups_kobj, &lf_cgroups_group);
	sysfs_remove_group(lf_kobj, &lf_attr_group);
}

/*
 * Last step: every cgroups/<id> is gone already.  The directories go now,
 * not when their last reference does (which may be late), so that the
 * next load can create them again at once.
 */
void lf_sysfs_exit(void)
{
	kobject_del(lf_cgroups_kobj);
	kobject_put(lf_cgroups_kobj);
	kobject_del(lf_kobj);
	kobject_put(lf_kobj);
}
