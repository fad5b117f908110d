// SPDX-License-Identifier: Apache-2.0
/*
 * bench-startup: interleaved start-up timing of several command lines.
 *
 *   bench-startup [options] -- NAME ARGV... [--- NAME ARGV...]...
 *
 * Every round runs each variant once, in a freshly shuffled order, so that
 * drift (frequency scaling, page cache, noisy neighbours) hits all variants
 * alike.  One sample is the wall time of fork + execve + waitpid measured
 * with CLOCK_MONOTONIC in the parent; no shell is involved.  The first
 * variant is the reference (normally "native").  Warm-up rounds are run the
 * same way and discarded.
 *
 * Before any timing, each variant is run once with its output captured; if
 * it fails, that output is shown.  Any non-zero exit (or death by signal) of
 * a measured run is an error: a benchmark of a failing command is worthless.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SEPARATOR "---"

struct variant {
	const char *name;
	char **argv;      /* NULL-terminated, points into main's argv */
	char *path;       /* argv[0] resolved against PATH once, up front */
	double *ms;       /* one sample per measured round */
	double *delta;    /* ms[i] - reference ms[i], same round */
	/* results */
	double median, p10, p90, mean, min, max, paired_delta;
};

enum format { FMT_TEXT, FMT_TSV, FMT_JSON };

static const char *prog = "bench-startup";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);
	if (!p)
		die("out of memory");
	return p;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [options] -- NAME ARGV... [" SEPARATOR " NAME ARGV...]...\n"
		"\n"
		"Times fork+execve+waitpid of each variant, interleaved in shuffled\n"
		"order every round. The first variant is the reference for overheads.\n"
		"\n"
		"options:\n"
		"  -n, --rounds N   measured rounds (default 100)\n"
		"  -w, --warmup N   discarded warm-up rounds (default 5)\n"
		"  -C, --dir DIR    chdir to DIR before running anything\n"
		"  -s, --seed N     shuffle seed (default: from the clock; printed)\n"
		"      --fixed-order  run variants in the given order (no shuffle)\n"
		"      --tsv        tab-separated output, one line per variant\n"
		"      --json       JSON output\n"
		"      --samples FILE  also write every measured sample to FILE (TSV:\n"
		"                   round, position in the round, variant, ms)\n"
		"  -h, --help       this text\n"
		"\n"
		"Stdin, stdout and stderr of measured commands are /dev/null.\n"
		"Exit status: 0 ok, 1 a variant failed, 2 usage or system error.\n",
		prog);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		die("bad %s: '%s'", what, s);
	return (uint64_t)v;
}

/* Resolve a command name against PATH, like execvp would, once. */
static char *resolve(const char *cmd)
{
	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK) != 0)
			die("%s: %s", cmd, strerror(errno));
		char *p = strdup(cmd);
		if (!p)
			die("out of memory");
		return p;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	size_t clen = strlen(cmd);
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
		char *cand = xcalloc(1, dlen + clen + 3);
		if (dlen == 0)
			snprintf(cand, dlen + clen + 3, "./%s", cmd);
		else
			snprintf(cand, dlen + clen + 3, "%.*s/%s", (int)dlen, p, cmd);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (!colon)
			break;
		p = colon + 1;
	}
	die("%s: command not found in PATH", cmd);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Run one variant with stdin from /dev/null and stdout/stderr on out_fd.
 * Returns the wait status; *elapsed_ns gets fork-to-reaped wall time.
 */
static int run_once(const struct variant *v, int null_fd, int out_fd, int64_t *elapsed_ns)
{
	int64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
		    dup2(out_fd, STDERR_FILENO) < 0)
			_exit(126);
		execve(v->path, v->argv, environ);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	}
	*elapsed_ns = now_ns() - t0;
	return status;
}

static void print_argv(FILE *out, char *const *argv)
{
	for (size_t i = 0; argv[i]; i++)
		fprintf(out, "%s%s", i ? " " : "", argv[i]);
}

static void describe_status(FILE *out, int status)
{
	if (WIFEXITED(status)) {
		int c = WEXITSTATUS(status);
		fprintf(out, "exit status %d%s", c,
			c == 127 ? " (execve failed)" : c == 126 ? " (fd setup failed)" : "");
	} else if (WIFSIGNALED(status)) {
		fprintf(out, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else {
		fprintf(out, "wait status 0x%x", (unsigned)status);
	}
}

static bool failed(int status)
{
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/* One unmeasured run per variant with output captured, to explain failures. */
static void preflight(struct variant *vs, size_t nv, int null_fd)
{
	for (size_t i = 0; i < nv; i++) {
		int fd = memfd_create("bench-startup-out", MFD_CLOEXEC);
		if (fd < 0)
			die("memfd_create: %s", strerror(errno));
		int64_t ns;
		int status = run_once(&vs[i], null_fd, fd, &ns);
		if (failed(status)) {
			fprintf(stderr, "%s: variant '%s' failed its check run: ", prog, vs[i].name);
			describe_status(stderr, status);
			fprintf(stderr, "\n  command: ");
			print_argv(stderr, vs[i].argv);
			fprintf(stderr, "\n  output (last 4 KiB):\n");
			off_t size = lseek(fd, 0, SEEK_END);
			off_t from = size > 4096 ? size - 4096 : 0;
			char buf[4096];
			ssize_t n = pread(fd, buf, sizeof buf, from);
			if (n > 0) {
				fwrite(buf, 1, (size_t)n, stderr);
				if (buf[n - 1] != '\n')
					fputc('\n', stderr);
			} else {
				fprintf(stderr, "  (none)\n");
			}
			exit(1);
		}
		close(fd);
	}
}

/* splitmix64: small, seedable, good enough for shuffling. */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void shuffle(size_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rng_next() % i);
		size_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Percentile with linear interpolation between closest ranks; x sorted. */
static double percentile(const double *x, size_t n, double q)
{
	if (n == 1)
		return x[0];
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)pos; /* pos >= 0: truncation is floor */
	size_t hi = lo + 1 < n ? lo + 1 : lo;
	double frac = pos - (double)lo;
	return x[lo] + (x[hi] - x[lo]) * frac;
}

static void compute(struct variant *v, size_t n)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += v->ms[i];
	v->mean = sum / (double)n;
	/* paired deltas are taken before ms[] is sorted */
	qsort(v->delta, n, sizeof *v->delta, cmp_double);
	v->paired_delta = percentile(v->delta, n, 0.5);
	qsort(v->ms, n, sizeof *v->ms, cmp_double);
	v->min = v->ms[0];
	v->max = v->ms[n - 1];
	v->median = percentile(v->ms, n, 0.5);
	v->p10 = percentile(v->ms, n, 0.10);
	v->p90 = percentile(v->ms, n, 0.90);
}

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void report(enum format fmt, struct variant *vs, size_t nv, uint64_t rounds,
		   uint64_t warmup, uint64_t seed, bool fixed)
{
	const struct variant *ref = &vs[0];
	switch (fmt) {
	case FMT_TEXT:
		printf("# %" PRIu64 " rounds (+%" PRIu64 " warm-up), order: %s",
		       rounds, warmup, fixed ? "fixed" : "shuffled");
		if (!fixed)
			printf(", seed %" PRIu64, seed);
		printf("; reference: %s\n", ref->name);
		printf("%-12s %9s %9s %9s %11s %8s %11s\n", "variant", "median", "p10", "p90",
		       "overhead", "ratio", "paired-d");
		for (size_t i = 0; i < nv; i++) {
			const struct variant *v = &vs[i];
			printf("%-12s %6.3f ms %6.3f ms %6.3f ms %+8.3f ms %7.2fx %+8.3f ms\n", v->name,
			       v->median, v->p10, v->p90, v->median - ref->median,
			       v->median / ref->median, v->paired_delta);
		}
		break;
	case FMT_TSV:
		printf("variant\trounds\tmedian_ms\tp10_ms\tp90_ms\tmean_ms\tmin_ms\tmax_ms\t"
		       "overhead_ms\tratio\tpaired_delta_ms\n");
		for (size_t i = 0; i < nv; i++) {
			const struct variant *v = &vs[i];
			printf("%s\t%" PRIu64 "\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\n",
			       v->name, rounds, v->median, v->p10, v->p90, v->mean, v->min, v->max,
			       v->median - ref->median, v->median / ref->median, v->paired_delta);
		}
		break;
	case FMT_JSON:
		printf("{\"rounds\": %" PRIu64 ", \"warmup\": %" PRIu64 ", \"order\": \"%s\", "
		       "\"seed\": %" PRIu64 ", \"reference\": ",
		       rounds, warmup, fixed ? "fixed" : "shuffled", seed);
		json_string(stdout, ref->name);
		printf(", \"variants\": [");
		for (size_t i = 0; i < nv; i++) {
			const struct variant *v = &vs[i];
			printf("%s\n  {\"name\": ", i ? "," : "");
			json_string(stdout, v->name);
			printf(", \"argv\": [");
			for (size_t k = 0; v->argv[k]; k++) {
				if (k)
					printf(", ");
				json_string(stdout, v->argv[k]);
			}
			printf("], \"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, "
			       "\"mean_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, "
			       "\"overhead_ms\": %.4f, \"ratio\": %.4f, \"paired_delta_ms\": %.4f}",
			       v->median, v->p10, v->p90, v->mean, v->min, v->max,
			       v->median - ref->median, v->median / ref->median, v->paired_delta);
		}
		printf("\n]}\n");
		break;
	}
}

int main(int argc, char **argv)
{
	uint64_t rounds = 100, warmup = 5, seed = 0;
	bool have_seed = false, fixed = false;
	const char *dir = NULL, *samples_path = NULL;
	enum format fmt = FMT_TEXT;

	enum { OPT_TSV = 256, OPT_JSON, OPT_FIXED, OPT_SAMPLES };
	static const struct option longopts[] = {
		{"rounds", required_argument, NULL, 'n'},
		{"warmup", required_argument, NULL, 'w'},
		{"dir", required_argument, NULL, 'C'},
		{"seed", required_argument, NULL, 's'},
		{"fixed-order", no_argument, NULL, OPT_FIXED},
		{"tsv", no_argument, NULL, OPT_TSV},
		{"json", no_argument, NULL, OPT_JSON},
		{"samples", required_argument, NULL, OPT_SAMPLES},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	/* '+': stop at the first non-option so variant argv is left alone */
	int c;
	while ((c = getopt_long(argc, argv, "+n:w:C:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': rounds = parse_u64(optarg, "rounds"); break;
		case 'w': warmup = parse_u64(optarg, "warmup"); break;
		case 'C': dir = optarg; break;
		case 's': seed = parse_u64(optarg, "seed"); have_seed = true; break;
		case OPT_FIXED: fixed = true; break;
		case OPT_TSV: fmt = FMT_TSV; break;
		case OPT_JSON: fmt = FMT_JSON; break;
		case OPT_SAMPLES: samples_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rounds < 1 || rounds > 10000000)
		die("rounds must be between 1 and 10000000");
	if (warmup > 10000000)
		die("warmup too large");

	/* Split the remaining words into variants at each SEPARATOR. */
	size_t nv = 0;
	struct variant *vs = xcalloc((size_t)argc, sizeof *vs);
	for (int i = optind; i < argc;) {
		int j = i;
		while (j < argc && strcmp(argv[j], SEPARATOR) != 0)
			j++;
		if (j - i < 2)
			die("variant %zu: need NAME and a command", nv + 1);
		vs[nv].name = argv[i];
		vs[nv].argv = &argv[i + 1];
		if (j < argc)
			argv[j] = NULL; /* terminates this variant's argv */
		for (size_t k = 0; k < nv; k++)
			if (strcmp(vs[k].name, vs[nv].name) == 0)
				die("duplicate variant name '%s'", vs[nv].name);
		nv++;
		i = j + 1;
		if (j < argc && i == argc)
			die("trailing '" SEPARATOR "' without a variant");
	}
	if (nv == 0) {
		usage(stderr);
		return 2;
	}

	FILE *samples = NULL;
	if (samples_path) {
		/* opened before -C so that a relative FILE is relative to where we were started */
		samples = fopen(samples_path, "we");
		if (!samples)
			die("%s: %s", samples_path, strerror(errno));
		fprintf(samples, "round\tposition\tvariant\tms\n");
	}
	/* Resolved before -C, made absolute: `-C DIR -- x ./build/cmd` means this directory's ./build. */
	for (size_t i = 0; i < nv; i++) {
		char *p = resolve(vs[i].argv[0]);
		if (p[0] != '/') {
			char *abs = realpath(p, NULL);
			if (!abs)
				die("%s: %s", p, strerror(errno));
			free(p);
			p = abs;
		}
		vs[i].path = p;
	}
	if (dir && chdir(dir) != 0)
		die("chdir %s: %s", dir, strerror(errno));
	for (size_t i = 0; i < nv; i++) {
		vs[i].ms = xcalloc((size_t)rounds, sizeof(double));
		vs[i].delta = xcalloc((size_t)rounds, sizeof(double));
	}
	if (!have_seed)
		seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	rng_state = seed;

	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		die("/dev/null: %s", strerror(errno));
	fflush(NULL); /* nothing buffered may be duplicated into children */

	preflight(vs, nv, null_fd);

	size_t *order = xcalloc(nv, sizeof *order);
	int64_t *round_ns = xcalloc(nv, sizeof *round_ns);
	for (uint64_t r = 0; r < warmup + rounds; r++) {
		for (size_t i = 0; i < nv; i++)
			order[i] = i;
		if (!fixed)
			shuffle(order, nv);
		for (size_t k = 0; k < nv; k++) {
			struct variant *v = &vs[order[k]];
			int status = run_once(v, null_fd, null_fd, &round_ns[order[k]]);
			if (failed(status)) {
				fprintf(stderr, "%s: variant '%s' failed in %s round %" PRIu64 ": ",
					prog, v->name, r < warmup ? "warm-up" : "measured",
					r < warmup ? r + 1 : r - warmup + 1);
				describe_status(stderr, status);
				fprintf(stderr, "\n  command: ");
				print_argv(stderr, v->argv);
				fputc('\n', stderr);
				return 1;
			}
		}
		if (r < warmup)
			continue;
		size_t idx = (size_t)(r - warmup);
		for (size_t i = 0; i < nv; i++) {
			vs[i].ms[idx] = (double)round_ns[i] / 1e6;
			vs[i].delta[idx] = (double)(round_ns[i] - round_ns[0]) / 1e6;
		}
		for (size_t k = 0; samples && k < nv; k++)
			fprintf(samples, "%zu\t%zu\t%s\t%.4f\n", idx + 1, k + 1, vs[order[k]].name,
				vs[order[k]].ms[idx]);
	}

	for (size_t i = 0; i < nv; i++)
		compute(&vs[i], (size_t)rounds);
	if (samples && fclose(samples) != 0)
		die("%s: %s", samples_path, strerror(errno));
	report(fmt, vs, nv, rounds, warmup, seed, fixed);
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing output: %s", strerror(errno));
	return 0;
}
