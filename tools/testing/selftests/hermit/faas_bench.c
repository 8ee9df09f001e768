// SPDX-License-Identifier: GPL-2.0
/*
 * faas_bench: a serverless-style run for 'bench apps', in the spirit of
 * FaaSMem: many small function instances, each a process in a memory
 * cgroup of its own, kept alive between invocations while their memory
 * goes cold.
 *
 *   faas_bench CGROUP FUNCS MIB [INVOCATIONS]
 *
 * Starts FUNCS function processes, each in a memory cgroup CGROUP/fn-N
 * (created here, removed at the end; this process must not be in CGROUP,
 * whose limit bounds them all); a cold start is the fork, the move into the cgroup
 * and the first invocation, which allocates MIB MiB and writes all of it.
 * Then INVOCATIONS (default 4 * FUNCS) warm invocations, of functions
 * drawn with a skew (function i is picked with weight 1 / (i + 1), from a
 * fixed seed): each reads back and checks all of its function's memory
 * and writes it again. The latency of an invocation is the time from the
 * request to the reply on its pipe. Prints one line:
 *   "faas funcs F mib M invocations N seconds S cold_p50_ms A cold_max_ms B
 *    warm_p50_ms C warm_p99_ms D warm_max_ms E"
 * where seconds is the time of the warm invocations. Exits 1 when a
 * function finds its memory wrong or dies.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

struct func {
	pid_t pid;
	int req, rep;		/* pipes: parent -> function, function -> parent */
	char cg[256];
};

static void die(const char *what)
{
	fprintf(stderr, "faas_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The body of a function instance: one invocation per byte received. */
static void function_main(unsigned int id, size_t bytes, int req, int rep)
{
	uint64_t *mem = NULL, gen = 0, i, n = bytes / sizeof(uint64_t);
	char c, ok;

	while (read(req, &c, 1) == 1) {
		ok = 1;
		if (!mem) {
			mem = malloc(bytes);
			if (!mem)
				_exit(1);
		} else {
			for (i = 0; i < n; i++)
				if (mem[i] != (((uint64_t)id << 48) ^ (gen << 32) ^ i))
					ok = 0;
			gen++;
		}
		for (i = 0; i < n; i++)
			mem[i] = ((uint64_t)id << 48) ^ (gen << 32) ^ i;
		if (write(rep, &ok, 1) != 1 || !ok)
			_exit(1);
	}
	_exit(0);
}

static int invoke(struct func *f, uint64_t *lat)
{
	uint64_t t = now_ns();
	char c = 'x', ok = 0;

	if (write(f->req, &c, 1) != 1 || read(f->rep, &ok, 1) != 1)
		return -1;
	*lat = now_ns() - t;
	return ok ? 0 : -2;
}

static void put_in_cgroup(const char *cg)
{
	char path[300], pid[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	f = fopen(path, "w");
	if (!f || fputs(pid, f) < 0 || fclose(f))
		_exit(1);
}

int main(int argc, char **argv)
{
	unsigned int nfuncs, ninv, i, j;
	uint64_t *cold, *warm, t0, t1;
	struct func *fs;
	double *weight, sum = 0;
	unsigned int seed = 7;
	size_t bytes;
	char path[300];
	int fails = 0;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: faas_bench CGROUP FUNCS MIB [INVOCATIONS]\n");
		return 2;
	}
	nfuncs = atoi(argv[2]);
	bytes = (size_t)atoi(argv[3]) << 20;
	ninv = argc > 4 ? (unsigned int)atoi(argv[4]) : 4 * nfuncs;
	if (!nfuncs || !bytes || !ninv) {
		fprintf(stderr, "faas_bench: bad arguments\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* The functions' cgroups are memory cgroups of their own. */
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", argv[1]);
	f = fopen(path, "w");
	if (!f || fputs("+memory", f) < 0 || fclose(f)) {
		fprintf(stderr, "faas_bench: no memory controller under %s (am I in it?)\n",
			argv[1]);
		return 1;
	}
	fs = calloc(nfuncs, sizeof(*fs));
	cold = calloc(nfuncs, sizeof(*cold));
	warm = calloc(ninv, sizeof(*warm));
	weight = calloc(nfuncs, sizeof(*weight));
	if (!fs || !cold || !warm || !weight)
		die("calloc");

	for (i = 0; i < nfuncs; i++) {
		int req[2], rep[2];
		uint64_t t = now_ns();

		snprintf(fs[i].cg, sizeof(fs[i].cg), "%s/fn-%u", argv[1], i);
		if (mkdir(fs[i].cg, 0755) && errno != EEXIST)
			die(fs[i].cg);
		if (pipe(req) || pipe(rep))
			die("pipe");
		fs[i].pid = fork();
		if (fs[i].pid < 0)
			die("fork");
		if (!fs[i].pid) {
			/* Only the parent may hold a request pipe's write end. */
			for (j = 0; j < i; j++) {
				close(fs[j].req);
				close(fs[j].rep);
			}
			close(req[1]);
			close(rep[0]);
			put_in_cgroup(fs[i].cg);
			function_main(i, bytes, req[0], rep[1]);
		}
		close(req[0]);
		close(rep[1]);
		fs[i].req = req[1];
		fs[i].rep = rep[0];
		if (invoke(&fs[i], &cold[i])) {
			fprintf(stderr, "faas_bench: function %u failed to start\n", i);
			fails++;
			break;
		}
		cold[i] = now_ns() - t;
	}

	for (i = 0; i < nfuncs; i++)
		sum += weight[i] = 1.0 / (i + 1);
	t0 = now_ns();
	for (j = 0; j < ninv && !fails; j++) {
		double u = (double)rand_r(&seed) / ((double)RAND_MAX + 1) * sum;

		for (i = 0; i < nfuncs - 1 && u >= weight[i]; i++)
			u -= weight[i];
		if (invoke(&fs[i], &warm[j])) {
			fprintf(stderr, "faas_bench: function %u %s\n", i,
				"found its memory wrong or died");
			fails++;
		}
	}
	t1 = now_ns();

	for (i = 0; i < nfuncs; i++) {
		int status;

		if (fs[i].pid <= 0)
			continue;
		close(fs[i].req);
		close(fs[i].rep);
		if (waitpid(fs[i].pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			fails++;
		rmdir(fs[i].cg);
	}
	if (fails)
		return 1;
	qsort(cold, nfuncs, sizeof(*cold), cmp_u64);
	qsort(warm, ninv, sizeof(*warm), cmp_u64);
	printf("faas funcs %u mib %s invocations %u seconds %.3f ",
	       nfuncs, argv[3], ninv, (t1 - t0) / 1e9);
	printf("cold_p50_ms %.3f cold_max_ms %.3f ", cold[nfuncs / 2] / 1e6,
	       cold[nfuncs - 1] / 1e6);
	printf("warm_p50_ms %.3f warm_p99_ms %.3f warm_max_ms %.3f\n",
	       warm[ninv / 2] / 1e6, warm[ninv * 99 / 100] / 1e6, warm[ninv - 1] / 1e6);
	return 0;
}
