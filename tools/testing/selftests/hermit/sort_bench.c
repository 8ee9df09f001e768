// SPDX-License-Identifier: GPL-2.0
/*
 * sort_bench: a batch job whose runtime is the metric, for 'bench apps'.
 *
 * Generates MiB of 64-bit keys from a fixed seed, sorts them in runs of
 * 1 MiB (THREADS threads take the runs in turn), merges the runs through a
 * heap into a second array of the same size (so the job touches twice
 * MiB), then checks that the output is in order and holds the same keys
 * (sum and xor) as the input. The way an out-of-core sort works: each
 * phase reads and writes its memory in long sequential streams, so a swap
 * tier is measured by its throughput and readahead, not by thrashing.
 *   sort_bench MiB [THREADS]
 * Prints one line: "sort MIB mib threads T seconds S majflt N ok".
 * Exits 1 if the output is wrong.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#define RUN_KEYS	(1024 * 1024 / sizeof(uint64_t))

struct job {
	uint64_t *keys;
	size_t nruns, n;
	pthread_mutex_t lock;
	size_t next;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static size_t run_len(const struct job *j, size_t r)
{
	return r == j->nruns - 1 ? j->n - r * RUN_KEYS : RUN_KEYS;
}

static void *sort_runs(void *arg)
{
	struct job *j = arg;
	size_t r;

	for (;;) {
		pthread_mutex_lock(&j->lock);
		r = j->next++;
		pthread_mutex_unlock(&j->lock);
		if (r >= j->nruns)
			return NULL;
		qsort(j->keys + r * RUN_KEYS, run_len(j, r), sizeof(uint64_t), cmp_u64);
	}
}

/* A min-heap of runs, keyed by each run's next key. */
struct head {
	uint64_t key;
	size_t run, pos;
};

static void sift_down(struct head *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		struct head t;

		if (l < n && h[l].key < h[m].key)
			m = l;
		if (l + 1 < n && h[l + 1].key < h[m].key)
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: the same keys on every run. */
static uint64_t next_key(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64;
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	size_t n = mib * 1024 * 1024 / sizeof(uint64_t), i, nh;
	uint64_t *in, *out, state = 0x9e3779b97f4a7c15ULL;
	uint64_t sum_in = 0, xor_in = 0, sum_out = 0, xor_out = 0;
	struct job j = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct head *h;
	pthread_t *tid;
	struct rusage ru;
	double t0;
	int t, bad = 0;

	if (!mib || threads < 1 || threads > 64) {
		fprintf(stderr, "usage: sort_bench MiB [THREADS (1-64)]\n");
		return 2;
	}
	in = mmap(NULL, n * sizeof(*in), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	out = mmap(NULL, n * sizeof(*out), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	j.keys = in;
	j.n = n;
	j.nruns = (n + RUN_KEYS - 1) / RUN_KEYS;
	h = calloc(j.nruns, sizeof(*h));
	tid = calloc(threads, sizeof(*tid));
	if (in == MAP_FAILED || out == MAP_FAILED || !h || !tid) {
		perror("sort_bench: allocation");
		return 1;
	}
	t0 = now_s();
	for (i = 0; i < n; i++) {
		in[i] = next_key(&state);
		sum_in += in[i];
		xor_in ^= in[i];
	}
	for (t = 0; t < threads; t++) {
		if (pthread_create(&tid[t], NULL, sort_runs, &j)) {
			perror("sort_bench: pthread_create");
			return 1;
		}
	}
	for (t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	for (nh = 0; nh < j.nruns; nh++)
		h[nh] = (struct head){ in[nh * RUN_KEYS], nh, 0 };
	for (i = nh / 2; i-- > 0;)
		sift_down(h, nh, i);
	for (i = 0; i < n; i++) {
		out[i] = h[0].key;
		if (++h[0].pos < run_len(&j, h[0].run))
			h[0].key = in[h[0].run * RUN_KEYS + h[0].pos];
		else
			h[0] = h[--nh];
		sift_down(h, nh, 0);
	}
	for (i = 0; i < n; i++) {
		sum_out += out[i];
		xor_out ^= out[i];
		if (i && out[i - 1] > out[i])
			bad = 1;
	}
	free(h);
	free(tid);
	getrusage(RUSAGE_SELF, &ru);
	if (bad || sum_in != sum_out || xor_in != xor_out) {
		fprintf(stderr, "sort_bench: wrong output (%s)\n",
			bad ? "out of order" : "keys changed");
		return 1;
	}
	printf("sort %zu mib threads %d seconds %.3f majflt %ld ok\n",
	       mib, threads, now_s() - t0, ru.ru_majflt);
	return 0;
}
