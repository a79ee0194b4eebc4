/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest_harness.h from the kernel tree (KSFT_DIR), built here with
 * -Wextra -Werror: its own signal handler leaves a parameter unused, which
 * is not ours to fix, so that warning is silenced for the header only.
 * Its TEST_F() wrapper keeps `child` across setjmp(), which -Wclobbered
 * (part of -Wextra) flags in every file that expands the macro. The warning
 * is real: at -O2 an ASSERT_*() in a test body longjmps back with `child`
 * restored to 1, and a FIXTURE_TEARDOWN() is then skipped. Every fixture
 * here therefore uses FIXTURE_TEARDOWN_PARENT(), which runs exactly once
 * on either path (a shared flag decides), and the warning is silenced for
 * the rest of the test file.
 * Plain TEST() leaves its wrapper's `variant` unused; use TEST_F().
 */
#ifndef LF_HARNESS_H
#define LF_HARNESS_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"

#endif
