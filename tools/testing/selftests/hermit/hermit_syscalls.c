// SPDX-License-Identifier: GPL-2.0
/*
 * hermit_syscalls: the errors of hermit_stats(2) and hermit_reset(2).
 *
 * Unknown flags and sizes outside [HERMIT_STATS_SIZE_VER0, page size] are
 * -EINVAL; a pointer the kernel cannot write is -EFAULT; a longer struct
 * than the kernel's gets its tail zeroed; resetting needs CAP_SYS_ADMIN
 * (-EPERM for an unprivileged user, who may still read); a reset zeroes
 * the counters. Run as root, with no swapping going on. Exit 0 when every
 * check passed; prints how many passed, and a FAIL line per failed check.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
/* Not installed with the system headers: straight from the tree. */
#include "../../../../include/uapi/linux/hermit.h"

#define NR_HERMIT_STATS	500
#define NR_HERMIT_RESET	501

static int checks, fails;

#define CHECK(cond, ...)						\
	do {								\
		checks++;						\
		if (!(cond)) {						\
			fails++;					\
			printf("FAIL: " __VA_ARGS__);			\
			printf("\n");					\
		}							\
	} while (0)

static long stats(void *p, size_t size, unsigned int flags)
{
	errno = 0;
	return syscall(NR_HERMIT_STATS, p, size, flags);
}

static long reset(unsigned int flags)
{
	errno = 0;
	return syscall(NR_HERMIT_RESET, flags);
}

/* In a child that gave up root: 0 if reading works and resetting is EPERM. */
static int unprivileged(void)
{
	struct hermit_stats s;

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return 2;
	if (stats(&s, sizeof(s), 0))
		return 3;
	if (reset(0) != -1 || errno != EPERM)
		return 4;
	return 0;
}

int main(void)
{
	unsigned char big[sizeof(struct hermit_stats) + 64];
	struct hermit_stats s;
	long page = sysconf(_SC_PAGESIZE);
	int status = -1;
	size_t i;
	void *ro;
	pid_t pid;
	long r;

	r = stats(&s, sizeof(s), 0);
	if (r && errno == ENOSYS) {
		printf("FAIL: no hermit_stats system call (ENOSYS)\n");
		return 1;
	}
	CHECK(r == 0, "stats: %s", strerror(errno));
	CHECK(sizeof(s) == HERMIT_STATS_SIZE_VER1, "struct of %zu bytes, VER1 is %d",
	      sizeof(s), HERMIT_STATS_SIZE_VER1);

	/* A caller built against VER0: its fields, nothing past them. */
	memset(big, 0xa5, sizeof(big));
	r = stats(big, HERMIT_STATS_SIZE_VER0, 0);
	for (i = HERMIT_STATS_SIZE_VER0; i < sizeof(big) && big[i] == 0xa5; i++)
		;
	CHECK(r == 0 && i == sizeof(big), "size VER0: %ld, byte %zu past it written", r, i);

	r = stats(&s, sizeof(s), 1);
	CHECK(r == -1 && errno == EINVAL, "flags 1: %ld (%s), expected EINVAL", r, strerror(errno));
	r = stats(&s, sizeof(s), 0x80000000u);
	CHECK(r == -1 && errno == EINVAL, "flags 1<<31: %ld (%s), expected EINVAL", r,
	      strerror(errno));
	r = stats(&s, 0, 0);
	CHECK(r == -1 && errno == EINVAL, "size 0: %ld (%s), expected EINVAL", r, strerror(errno));
	r = stats(&s, HERMIT_STATS_SIZE_VER0 - 8, 0);
	CHECK(r == -1 && errno == EINVAL, "size VER0 - 8: %ld (%s), expected EINVAL", r,
	      strerror(errno));
	r = stats(big, page + 1, 0);
	CHECK(r == -1 && errno == EINVAL, "size page + 1: %ld (%s), expected EINVAL", r,
	      strerror(errno));
	r = stats(NULL, sizeof(s), 0);
	CHECK(r == -1 && errno == EFAULT, "NULL: %ld (%s), expected EFAULT", r, strerror(errno));
	ro = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ro != MAP_FAILED) {
		r = stats(ro, sizeof(s), 0);
		CHECK(r == -1 && errno == EFAULT, "read-only buffer: %ld (%s), expected EFAULT",
		      r, strerror(errno));
		munmap(ro, page);
	}

	/* A caller with a longer struct: the kernel's part, then zeroes. */
	memset(big, 0xa5, sizeof(big));
	r = stats(big, sizeof(big), 0);
	CHECK(r == 0, "size %zu: %s", sizeof(big), strerror(errno));
	for (i = sizeof(s); i < sizeof(big) && !big[i]; i++)
		;
	CHECK(i == sizeof(big), "byte %zu past the struct is %#x, not 0", i,
	      i < sizeof(big) ? big[i] : 0);

	r = reset(1);
	CHECK(r == -1 && errno == EINVAL, "reset flags 1: %ld (%s), expected EINVAL", r,
	      strerror(errno));
	pid = fork();
	if (!pid)
		_exit(unprivileged());
	if (pid > 0)
		waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && !WEXITSTATUS(status),
	      "as nobody: reading must work and resetting be EPERM (child status %#x)", status);

	r = reset(0);
	CHECK(r == 0, "reset: %s", strerror(errno));
	r = stats(&s, sizeof(s), 0);
	for (i = 0; i < HERMIT_LAT_BUCKETS && !s.fault_major[i] && !s.fault_minor[i]; i++)
		;
	CHECK(r == 0 && !s.stored && !s.loaded && !s.ondemand_swapin && !s.prefetch_swapin &&
	      !s.refused_disabled && !s.fs_reclaimed_direct && !s.fault_major_ns &&
	      i == HERMIT_LAT_BUCKETS,
	      "after reset: stored %llu loaded %llu ondemand %llu prefetch %llu",
	      (unsigned long long)s.stored, (unsigned long long)s.loaded,
	      (unsigned long long)s.ondemand_swapin, (unsigned long long)s.prefetch_swapin);

	printf("system calls: %d of %d checks passed\n", checks - fails, checks);
	return fails ? 1 : 0;
}
