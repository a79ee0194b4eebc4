/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest_harness.h from the kernel tree (KSFT_DIR), built here with
 * -Wextra -Werror: its own signal handler leaves a parameter unused, which
 * is not ours to fix, so only that warning is silenced, only for the header.
 */
#ifndef LF_HARNESS_H
#define LF_HARNESS_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#endif
