/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and unloading lazyfree.ko from a test, by system call: no
 * insmod/rmmod process per reload, and the kernel's own errno.
 *
 * The rig loads the module with hook=$LAZYFREE_HOOK and checks after every
 * test that it is loaded again with that value; lf_ko_restore() puts
 * it back that way.
 */
#ifndef LF_MODULE_H
#define LF_MODULE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lf_util.h"

/* How long an rmmod is retried while the kernel answers EBUSY/EAGAIN. */
#define LF_UNLOAD_RETRY_MS	5000

/* LAZYFREE_KO, or NULL when it is unset or unreadable. */
static inline const char *lf_ko_path(void)
{
	const char *ko = getenv("LAZYFREE_KO");

	return ko && *ko && !access(ko, R_OK) ? ko : NULL;
}

/* LAZYFREE_HOOK, else the loaded module's hook parameter, else "auto". */
static inline const char *lf_hook_param(void)
{
	static char hook[32];

	if (lf_hook_env())
		return lf_hook_env();
	if (!hook[0] && lf_read_file("/sys/module/lazyfree/parameters/hook",
				     hook, sizeof(hook)))
		snprintf(hook, sizeof(hook), "auto");
	return hook;
}

/* finit_module(2) of LAZYFREE_KO with "hook=<hook> <extra>"; 0 or -errno. */
static inline int lf_ko_load(const char *extra)
{
	const char *ko = lf_ko_path();
	char params[256];
	int fd, err = 0;

	if (!ko)
		return -ENOENT;
	snprintf(params, sizeof(params), "hook=%s%s%s", lf_hook_param(),
		 extra ? " " : "", extra ? extra : "");
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (syscall(__NR_finit_module, fd, params, 0))
		err = -errno;
	close(fd);
	return err;
}

/*
 * delete_module(2), retried while the module is busy (a reference held
 * for a moment, or still loading).  *tries counts the attempts.
 * 0, -ENOENT when not loaded, or the last -errno.
 */
static inline int lf_ko_unload(int *tries)
{
	long start = lf_now_ms();
	int n = 0, err;

	for (;;) {
		n++;
		err = syscall(__NR_delete_module, "lazyfree", O_NONBLOCK) ?
		      -errno : 0;
		if ((err != -EBUSY && err != -EAGAIN) ||
		    lf_now_ms() - start > LF_UNLOAD_RETRY_MS)
			break;
		lf_msleep(5);
	}
	if (tries)
		*tries = n;
	return err;
}

/*
 * Leave the module loaded as the rig loaded it: hook=<hook>, every other
 * parameter at its default.  Reloads when @force or when it is not loaded.
 */
static inline int lf_ko_restore(bool force)
{
	int err;

	if (!force && lf_module_loaded())
		return 0;
	err = lf_ko_unload(NULL);
	if (err && err != -ENOENT)
		return err;
	return lf_ko_load(NULL);
}

#endif
