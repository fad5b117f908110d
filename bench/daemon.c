// SPDX-License-Identifier: Apache-2.0
/*
 * bench-daemon: what the warm pool daemon (`cordon serve`) saves at the start of a command.
 *
 *   bench-daemon [options] -- CMD [ARG...] [--- NAME ARGV...]...
 *
 * Rounds mode (the default). Every round runs each variant once, in a freshly shuffled order, all in
 * this one process (the approach of bench/startup.c):
 *   native  fork + execve + waitpid of CMD (its path resolved once, up front);
 *   daemon  cordon_run_command() with CORDON_DAEMON_ALWAYS at --socket: a sandbox from the pool;
 *   cold    cordon_run_command() with CORDON_DAEMON_NEVER: the sandbox built here, in this process;
 *   NAME    each `--- NAME ARGV...` group: fork + execve + waitpid of ARGV (bubblewrap, `cordon run`).
 * A sample is the wall time (CLOCK_MONOTONIC) the caller waits, result included. Stdin, stdout and
 * stderr of every command are /dev/null. The policy is cordon_policy_new()'s default with the
 * workspace set to the current directory (after -C).
 *
 * A warm pool, not its refill rate: taking a sandbox from the pool makes the daemon build another at
 * once, which keeps a CPU busy for a few milliseconds. Before every sample (of every variant, so that
 * they are treated alike) the harness sleeps --settle MS, long enough for that refill to finish: the
 * daemon sample then finds a full pool, and no other sample shares the machine with a refill. The
 * script around it (bench/daemon.sh) checks with `cordon serve --status` before and after the run that
 * the pool was full.
 *
 * Concurrent mode (--concurrent N): N cordon_spawn() calls back to back, then every result waited for
 * (poll on cordon_process_fd()); counts the failures and measures the wall time, and each command's
 * time from its spawn to its result.
 *
 * Any failing run is an error: a benchmark of a failing command measures nothing. Exit status: 0 ok,
 * 1 a run failed (or, with --concurrent, any of the N failed or hung), 2 usage or system error.
 */
#include <cordon/cordon.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SEPARATOR "---"
#define MAX_ERRORS 8 /* distinct failure messages kept in concurrent mode */

enum kind { K_EXEC, K_DAEMON, K_COLD };
enum format { FMT_TEXT, FMT_TSV, FMT_JSON };

struct stats {
	double median, p10, p90, mean, min, max, paired;
};

struct variant {
	const char *name;
	enum kind kind;
	char **argv;         /* K_EXEC: NULL-terminated, into main's argv */
	char *path;          /* K_EXEC: argv[0] resolved once */
	cordon_command *cmd; /* K_DAEMON, K_COLD */
	double *ms;          /* one sample per measured round */
	double *delta;       /* ms - native's ms, same round */
	struct stats st;
	int pool_fd;         /* K_DAEMON with the pool check: the command's stderr (a memfd), else -1 */
	int pool_last;       /* what served the last sample (enum pool_use) */
	uint64_t pool[4];    /* measured samples by enum pool_use */
};

/* What served a daemon sample, as the serving process says with CORDON_DEBUG_POOL=1 (docs/daemon.md). */
enum pool_use { POOL_USED, POOL_STALE, POOL_NONE, POOL_UNKNOWN };

struct opts {
	uint64_t rounds, warmup, seed, settle_ms, concurrent, timeout_s;
	bool have_seed, fixed, audit, no_daemon, no_cold, concurrent_cold, no_pool_check;
	const char *dir, *socket, *samples, *audit_log;
	enum format fmt;
};

static const char *prog = "bench-daemon";
static const cordon_policy *bench_policy; /* every variant's policy: the default, workspace = cwd */

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
	void *p = calloc(n ? n : 1, sz);
	if (!p)
		die("out of memory");
	return p;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [options] -- CMD [ARG...] [" SEPARATOR " NAME ARGV...]...\n"
		"\n"
		"Times CMD natively (fork+execve), through the cordon daemon and cold (libcordon),\n"
		"and each extra NAME ARGV (fork+execve), interleaved in shuffled order every round.\n"
		"\n"
		"options:\n"
		"  -n, --rounds N      measured rounds (default 100)\n"
		"  -w, --warmup N      discarded warm-up rounds (default 5)\n"
		"  -C, --dir DIR       chdir to DIR first; it is the policy's workspace\n"
		"  -S, --socket PATH   the daemon's socket (default: $CORDON_SOCKET, else\n"
		"                      $XDG_RUNTIME_DIR/cordon/cordon.sock)\n"
		"      --settle MS     sleep before every sample so the pool is full (default 50)\n"
		"      --audit on|off  the audit log (default on: cordon's default daily file)\n"
		"      --audit-log FILE  the audit log's file (with --audit on)\n"
		"      --no-daemon     leave the daemon variant out\n"
		"      --no-cold       leave the cold variant out\n"
		"      --no-pool-check  do not ask (CORDON_DEBUG_POOL=1) whether a pooled sandbox\n"
		"                      served each daemon sample\n"
		"  -s, --seed N        shuffle seed (default: from the clock; printed)\n"
		"      --fixed-order   no shuffle\n"
		"      --text | --tsv | --json   output format (default text)\n"
		"      --samples FILE  every measured sample (TSV: round, position, variant, ms)\n"
		"      --concurrent N  instead: spawn N commands at once through the daemon, wait for all\n"
		"      --concurrent-cold  with --concurrent: without the daemon (each a child of this one)\n"
		"      --timeout S     --concurrent: give up after S seconds (default 300)\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit status: 0 ok, 1 a run failed, 2 usage or system error.\n",
		prog);
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		die("bad %s: '%s'", what, s);
	return (uint64_t)v;
}

static bool parse_onoff(const char *s, const char *what)
{
	if (strcmp(s, "on") == 0)
		return true;
	if (strcmp(s, "off") != 0)
		die("%s: expected on or off, not '%s'", what, s);
	return false;
}

/* argv[0] against PATH, once, as execvp would; made absolute. */
static char *resolve(const char *cmd)
{
	char *found = NULL;
	if (strchr(cmd, '/')) {
		found = realpath(cmd, NULL);
	} else {
		const char *path = getenv("PATH");
		if (!path || !*path)
			path = "/usr/local/bin:/usr/bin:/bin";
		for (const char *p = path; !found && p;) {
			const char *colon = strchr(p, ':');
			int dlen = colon ? (int)(colon - p) : (int)strlen(p);
			char cand[4096];
			snprintf(cand, sizeof(cand), "%.*s/%s", dlen ? dlen : 1, dlen ? p : ".", cmd);
			struct stat st;
			if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
				found = realpath(cand, NULL);
			p = colon ? colon + 1 : NULL;
		}
	}
	if (!found || access(found, X_OK) != 0)
		die("%s: not found or not executable", cmd);
	return found;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- one sample ---- */

/* fork + execve + waitpid; stdin from `in`, stdout and stderr to `out`. The wait status. */
static int run_exec(const struct variant *v, int in, int out)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(126);
		execve(v->path, v->argv, environ);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return status;
}

static enum pool_use pool_said(int fd)
{
	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, "pooled sandbox used") ? POOL_USED
	       : strstr(buf, "pooled sandbox stale") ? POOL_STALE
	       : strstr(buf, "pooled sandbox none") ? POOL_NONE : POOL_UNKNOWN;
}

/*
 * Runs variant `v` once with its output on `out`; *ns gets the wall time. Returns true when it
 * succeeded; else `why` says how it failed.
 */
static bool run_sample(struct variant *v, int in, int out, int64_t *ns, char *why, size_t cap)
{
	int64_t t0 = now_ns();
	if (v->kind == K_EXEC) {
		int status = run_exec(v, in, out);
		*ns = now_ns() - t0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return true;
		if (WIFEXITED(status))
			snprintf(why, cap, "exit status %d%s", WEXITSTATUS(status),
				 WEXITSTATUS(status) == 127 ? " (execve failed?)" : "");
		else
			snprintf(why, cap, "wait status 0x%x", (unsigned)status);
		return false;
	}
	/* The pool check reads what the serving process said on stderr: only when the output is not
	 * being captured for a failure report anyway. */
	bool check = v->pool_fd >= 0 && out != v->pool_fd;
	if (check && (ftruncate(v->pool_fd, 0) < 0 || lseek(v->pool_fd, 0, SEEK_SET) < 0))
		die("the pool check's memfd: %s", strerror(errno));
	cordon_command_set_stdio(v->cmd, in, out, check ? v->pool_fd : out);
	cordon_result *res = NULL;
	struct cordon_error *err = NULL;
	int status = cordon_run_command(bench_policy, v->cmd, &res, &err);
	*ns = now_ns() - t0;
	if (check)
		v->pool_last = pool_said(v->pool_fd);
	bool ok = status == 0 && res && cordon_result_exit_status(res) == 0;
	if (!ok) {
		const struct cordon_error *e = err ? err : res ? cordon_result_error(res) : NULL;
		snprintf(why, cap, "exit status %d%s%s%s%s", status, e ? ": " : "", e && e->message ? e->message : "",
			 e && e->hint ? " (hint: " : "", e && e->hint ? e->hint : "");
		if (e && e->hint)
			strncat(why, ")", cap - strlen(why) - 1);
	}
	cordon_error_free(err);
	cordon_result_free(res);
	return ok;
}

static void print_variant(FILE *f, const struct variant *v, const struct opts *o, char *const *cmd)
{
	if (v->kind == K_EXEC) {
		for (size_t i = 0; v->argv[i]; i++)
			fprintf(f, "%s%s", i ? " " : "", v->argv[i]);
		return;
	}
	fprintf(f, "cordon_run_command(daemon %s, audit %s) of", v->kind == K_DAEMON ? "ALWAYS" : "NEVER",
		o->audit ? "on" : "off");
	for (size_t i = 0; cmd[i]; i++)
		fprintf(f, " %s", cmd[i]);
}

/* One run of each variant with its output captured, so that a failure can be shown. */
static void preflight(struct variant *vs, size_t nv, int null_fd, const struct opts *o, char *const *cmd)
{
	for (size_t i = 0; i < nv; i++) {
		int fd = memfd_create("bench-daemon-out", MFD_CLOEXEC);
		if (fd < 0)
			die("memfd_create: %s", strerror(errno));
		int64_t ns;
		char why[1024] = "";
		if (!run_sample(&vs[i], null_fd, fd, &ns, why, sizeof(why))) {
			fprintf(stderr, "%s: variant '%s' failed its check run: %s\n  command: ", prog, vs[i].name, why);
			print_variant(stderr, &vs[i], o, cmd);
			fprintf(stderr, "\n  output (last 4 KiB):\n");
			off_t size = lseek(fd, 0, SEEK_END);
			char buf[4096];
			ssize_t n = pread(fd, buf, sizeof(buf), size > 4096 ? size - 4096 : 0);
			if (n > 0)
				fprintf(stderr, "%.*s%s", (int)n, buf, buf[n - 1] == '\n' ? "" : "\n");
			else
				fprintf(stderr, "  (none)\n");
			exit(1);
		}
		close(fd);
	}
}

/* ---- statistics ---- */

static uint64_t rng_state;

/* splitmix64: seedable, plenty for a shuffle. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile of sorted x[0..n), interpolated between closest ranks (as bench-startup does). */
static double quantile(const double *x, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)pos;
	if (lo + 1 >= n)
		return x[n - 1];
	return x[lo] + (x[lo + 1] - x[lo]) * (pos - (double)lo);
}

/* Sorts x and d in place. */
static struct stats summarise(double *x, double *d, size_t n)
{
	struct stats s = {0};
	for (size_t i = 0; i < n; i++)
		s.mean += x[i] / (double)n;
	qsort(x, n, sizeof(*x), cmp_double);
	s.min = x[0];
	s.max = x[n - 1];
	s.median = quantile(x, n, 0.5);
	s.p10 = quantile(x, n, 0.1);
	s.p90 = quantile(x, n, 0.9);
	if (d) {
		qsort(d, n, sizeof(*d), cmp_double);
		s.paired = quantile(d, n, 0.5);
	}
	return s;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* ---- rounds mode ---- */

/* The pool check's counts, "used/stale/none/unknown", or "-" for a variant without one. */
static const char *pool_counts(const struct variant *v, char *buf, size_t cap)
{
	if (v->pool_fd < 0)
		return "-";
	snprintf(buf, cap, "%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, v->pool[POOL_USED], v->pool[POOL_STALE],
		 v->pool[POOL_NONE], v->pool[POOL_UNKNOWN]);
	return buf;
}

static void report_rounds(const struct opts *o, const struct variant *vs, size_t nv)
{
	const struct stats *ref = &vs[0].st;
	char pc[96];
	if (o->fmt == FMT_TEXT) {
		printf("# %" PRIu64 " rounds (+%" PRIu64 " warm-up), order %s, seed %" PRIu64 ", settle %" PRIu64
		       " ms, audit %s; reference: native\n",
		       o->rounds, o->warmup, o->fixed ? "fixed" : "shuffled", o->seed, o->settle_ms, o->audit ? "on" : "off");
		printf("%-14s %9s %9s %9s %11s %8s %11s  %s\n", "variant", "median", "p10", "p90", "overhead", "ratio",
		       "paired-d", "pool used/stale/none/unknown");
		for (size_t i = 0; i < nv; i++) {
			const struct stats *s = &vs[i].st;
			printf("%-14s %6.3f ms %6.3f ms %6.3f ms %+8.3f ms %7.2fx %+8.3f ms  %s\n", vs[i].name, s->median,
			       s->p10, s->p90, s->median - ref->median, s->median / ref->median, s->paired,
			       pool_counts(&vs[i], pc, sizeof(pc)));
		}
	} else if (o->fmt == FMT_TSV) {
		printf("variant\trounds\tmedian_ms\tp10_ms\tp90_ms\tmean_ms\tmin_ms\tmax_ms\toverhead_ms\tratio\t"
		       "paired_delta_ms\tpool_used_stale_none_unknown\n");
		for (size_t i = 0; i < nv; i++) {
			const struct stats *s = &vs[i].st;
			printf("%s\t%" PRIu64 "\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%s\n", vs[i].name,
			       o->rounds, s->median, s->p10, s->p90, s->mean, s->min, s->max, s->median - ref->median,
			       s->median / ref->median, s->paired, pool_counts(&vs[i], pc, sizeof(pc)));
		}
	} else {
		printf("{\"mode\": \"rounds\", \"rounds\": %" PRIu64 ", \"warmup\": %" PRIu64 ", \"order\": \"%s\", "
		       "\"seed\": %" PRIu64 ", \"settle_ms\": %" PRIu64 ", \"audit\": %s, \"reference\": \"native\", "
		       "\"variants\": [",
		       o->rounds, o->warmup, o->fixed ? "fixed" : "shuffled", o->seed, o->settle_ms,
		       o->audit ? "true" : "false");
		for (size_t i = 0; i < nv; i++) {
			const struct stats *s = &vs[i].st;
			printf("%s\n  {\"name\": ", i ? "," : "");
			json_string(stdout, vs[i].name);
			printf(", \"median_ms\": %.4f, \"p10_ms\": %.4f, \"p90_ms\": %.4f, \"mean_ms\": %.4f, "
			       "\"min_ms\": %.4f, \"max_ms\": %.4f, \"overhead_ms\": %.4f, \"ratio\": %.4f, "
			       "\"paired_delta_ms\": %.4f",
			       s->median, s->p10, s->p90, s->mean, s->min, s->max, s->median - ref->median,
			       s->median / ref->median, s->paired);
			if (vs[i].pool_fd >= 0)
				printf(", \"pool\": {\"used\": %" PRIu64 ", \"stale\": %" PRIu64 ", \"none\": %" PRIu64
				       ", \"unknown\": %" PRIu64 "}",
				       vs[i].pool[POOL_USED], vs[i].pool[POOL_STALE], vs[i].pool[POOL_NONE],
				       vs[i].pool[POOL_UNKNOWN]);
			printf("}");
		}
		printf("\n]}\n");
	}
}

static int rounds_mode(const struct opts *o, struct variant *vs, size_t nv, int null_fd, char *const *cmd)
{
	FILE *samples = NULL;
	if (o->samples) {
		if (!(samples = fopen(o->samples, "we")))
			die("%s: %s", o->samples, strerror(errno));
		fprintf(samples, "round\tposition\tvariant\tms\n");
	}
	preflight(vs, nv, null_fd, o, cmd);
	/* The check run made the daemon's first sandboxes for this policy: let the pool fill. */
	sleep_ms(o->settle_ms * 10);

	size_t *order = xcalloc(nv, sizeof(*order));
	int64_t *ns = xcalloc(nv, sizeof(*ns));
	for (uint64_t r = 0; r < o->warmup + o->rounds; r++) {
		for (size_t i = 0; i < nv; i++)
			order[i] = i;
		for (size_t i = nv; !o->fixed && i > 1; i--) {
			size_t j = (size_t)(rng_next() % i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t k = 0; k < nv; k++) {
			struct variant *v = &vs[order[k]];
			char why[1024] = "";
			sleep_ms(o->settle_ms);
			if (!run_sample(v, null_fd, null_fd, &ns[order[k]], why, sizeof(why))) {
				fprintf(stderr, "%s: variant '%s' failed in %s round %" PRIu64 ": %s\n  command: ", prog,
					v->name, r < o->warmup ? "warm-up" : "measured",
					r < o->warmup ? r + 1 : r - o->warmup + 1, why);
				print_variant(stderr, v, o, cmd);
				fputc('\n', stderr);
				return 1;
			}
		}
		if (r < o->warmup)
			continue;
		size_t idx = (size_t)(r - o->warmup);
		for (size_t i = 0; i < nv; i++) {
			vs[i].ms[idx] = (double)ns[i] / 1e6;
			vs[i].delta[idx] = (double)(ns[i] - ns[0]) / 1e6;
			if (vs[i].pool_fd >= 0)
				vs[i].pool[vs[i].pool_last]++;
		}
		for (size_t k = 0; samples && k < nv; k++)
			fprintf(samples, "%zu\t%zu\t%s\t%.4f\n", idx + 1, k + 1, vs[order[k]].name,
				vs[order[k]].ms[idx]);
	}
	for (size_t i = 0; i < nv; i++)
		vs[i].st = summarise(vs[i].ms, vs[i].delta, (size_t)o->rounds);
	if (samples && fclose(samples) != 0)
		die("%s: %s", o->samples, strerror(errno));
	report_rounds(o, vs, nv);
	free(order);
	free(ns);
	return 0;
}

/* ---- concurrent mode ---- */

struct job {
	cordon_process *proc;
	int64_t t0, t1;
	bool done;
};

struct failures {
	size_t spawn, wait, status, hung;
	char *msg[MAX_ERRORS];
	size_t count[MAX_ERRORS];
	size_t nmsg;
};

static void note_failure(struct failures *f, const char *msg)
{
	for (size_t i = 0; i < f->nmsg; i++)
		if (strcmp(f->msg[i], msg) == 0) {
			f->count[i]++;
			return;
		}
	if (f->nmsg < MAX_ERRORS && (f->msg[f->nmsg] = strdup(msg)))
		f->count[f->nmsg++] = 1;
}

static void note_error(struct failures *f, const char *what, int status, const struct cordon_error *e)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s: status %d: %s%s%s", what, status, e && e->message ? e->message : "(no message)",
		 e && e->hint ? "; hint: " : "", e && e->hint ? e->hint : "");
	note_failure(f, buf);
}

static size_t open_fds(void)
{
	size_t n = 0;
	DIR *d = opendir("/proc/self/fd");
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n ? n - 1 : 0; /* not the directory's own fd */
}

/* Takes the result of job `j`. */
static void reap_job(struct job *j, struct failures *f)
{
	cordon_result *res = NULL;
	struct cordon_error *err = NULL;
	if (cordon_wait(j->proc, &res, &err) < 0) {
		f->wait++;
		note_error(f, "cordon_wait", -1, err);
	} else if (cordon_result_exit_status(res) != 0) {
		f->status++;
		note_error(f, "result", cordon_result_exit_status(res), cordon_result_error(res));
	}
	j->t1 = now_ns();
	j->done = true;
	cordon_error_free(err);
	cordon_result_free(res);
	cordon_process_free(j->proc);
	j->proc = NULL;
}

/* Waits for every spawned job until `deadline`; returns how many are still out. */
static size_t wait_all(struct job *jobs, size_t n, struct failures *f, int64_t deadline)
{
	struct pollfd *pfd = xcalloc(n, sizeof(*pfd));
	size_t *idx = xcalloc(n, sizeof(*idx));
	size_t left;
	for (;;) {
		left = 0;
		for (size_t i = 0; i < n; i++)
			if (jobs[i].proc && !jobs[i].done) {
				pfd[left] = (struct pollfd){.fd = cordon_process_fd(jobs[i].proc), .events = POLLIN};
				idx[left++] = i;
			}
		int64_t rest = (deadline - now_ns()) / 1000000;
		if (!left || rest <= 0)
			break;
		int k = poll(pfd, left, rest > 1000 ? 1000 : (int)rest);
		if (k < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (size_t i = 0; k > 0 && i < left; i++)
			if (pfd[i].revents)
				reap_job(&jobs[idx[i]], f);
	}
	free(pfd);
	free(idx);
	return left;
}

/* What concurrent mode measured, for the report. */
struct burst {
	size_t n, fds;
	double wall_ms, spawn_ms;
	struct stats lat; /* spawn call to result, of those that finished */
};

static void report_concurrent(const struct opts *o, const struct burst *b, const struct failures *f)
{
	size_t failed = f->spawn + f->wait + f->status + f->hung;
	const char *via = o->concurrent_cold ? "cold" : "daemon";
	if (o->fmt == FMT_JSON) {
		printf("{\"mode\": \"concurrent\", \"via\": \"%s\", \"n\": %zu, \"failed\": %zu, \"spawn_failed\": %zu, "
		       "\"wait_failed\": %zu, \"nonzero_status\": %zu, \"hung\": %zu, \"wall_ms\": %.3f, "
		       "\"spawn_phase_ms\": %.3f, \"latency_median_ms\": %.3f, \"latency_p90_ms\": %.3f, "
		       "\"latency_max_ms\": %.3f, \"fds_held_at_peak\": %zu, \"errors\": [",
		       via, b->n, failed, f->spawn, f->wait, f->status, f->hung, b->wall_ms, b->spawn_ms, b->lat.median,
		       b->lat.p90, b->lat.max, b->fds);
		for (size_t i = 0; i < f->nmsg; i++) {
			printf("%s{\"count\": %zu, \"message\": ", i ? ", " : "", f->count[i]);
			json_string(stdout, f->msg[i]);
			printf("}");
		}
		printf("]}\n");
		return;
	}
	printf("# %zu commands spawned at once (%s)\n", b->n, via);
	printf("failed %zu (spawn %zu, wait %zu, non-zero status %zu, hung %zu)\n", failed, f->spawn, f->wait,
	       f->status, f->hung);
	printf("wall %.1f ms (spawn calls %.1f ms); per command, spawn to result: median %.1f ms, p90 %.1f ms, "
	       "max %.1f ms\n",
	       b->wall_ms, b->spawn_ms, b->lat.median, b->lat.p90, b->lat.max);
	printf("descriptors held by the caller with all %zu spawned: %zu\n", b->n, b->fds);
	for (size_t i = 0; i < f->nmsg; i++)
		printf("  %zu x %s\n", f->count[i], f->msg[i]);
}

static int concurrent_mode(const struct opts *o, cordon_command *cmd, int null_fd)
{
	size_t n = (size_t)o->concurrent;
	struct job *jobs = xcalloc(n, sizeof(*jobs));
	struct failures f = {0};
	cordon_command_set_stdio(cmd, null_fd, null_fd, null_fd);
	size_t fds_before = open_fds();
	int64_t start = now_ns();
	for (size_t i = 0; i < n; i++) {
		struct cordon_error *err = NULL;
		jobs[i].t0 = now_ns();
		if (cordon_spawn(bench_policy, cmd, &jobs[i].proc, &err) < 0) {
			f.spawn++;
			note_error(&f, "cordon_spawn", -1, err);
			jobs[i].proc = NULL;
		}
		cordon_error_free(err);
	}
	int64_t spawned = now_ns();
	struct burst b = {.n = n, .fds = open_fds() - fds_before, .spawn_ms = (double)(spawned - start) / 1e6};
	size_t left = wait_all(jobs, n, &f, spawned + (int64_t)o->timeout_s * 1000000000);
	b.wall_ms = (double)(now_ns() - start) / 1e6;
	if (left) {
		f.hung = left;
		char buf[128];
		snprintf(buf, sizeof(buf), "no result within %" PRIu64 " s (killed)", o->timeout_s);
		note_failure(&f, buf);
		for (size_t i = 0; i < n; i++)
			if (jobs[i].proc) {
				cordon_kill(jobs[i].proc, SIGKILL, NULL);
				cordon_process_free(jobs[i].proc);
			}
	}
	double *lat = xcalloc(n, sizeof(*lat));
	size_t nd = 0;
	for (size_t i = 0; i < n; i++)
		if (jobs[i].done)
			lat[nd++] = (double)(jobs[i].t1 - jobs[i].t0) / 1e6;
	if (nd)
		b.lat = summarise(lat, NULL, nd);
	report_concurrent(o, &b, &f);
	for (size_t i = 0; i < f.nmsg; i++)
		free(f.msg[i]);
	free(lat);
	free(jobs);
	return f.spawn + f.wait + f.status + f.hung ? 1 : 0;
}

/* ---- setup ---- */

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_SETTLE = 256, O_AUDIT, O_AUDIT_LOG, O_NO_DAEMON, O_NO_COLD, O_FIXED, O_TEXT, O_TSV, O_JSON,
	       O_SAMPLES, O_CONC, O_CONC_COLD, O_TIMEOUT, O_NO_POOL_CHECK };
	static const struct option lo[] = {
		{"rounds", required_argument, NULL, 'n'},  {"warmup", required_argument, NULL, 'w'},
		{"dir", required_argument, NULL, 'C'},     {"socket", required_argument, NULL, 'S'},
		{"seed", required_argument, NULL, 's'},    {"settle", required_argument, NULL, O_SETTLE},
		{"audit", required_argument, NULL, O_AUDIT}, {"audit-log", required_argument, NULL, O_AUDIT_LOG},
		{"no-daemon", no_argument, NULL, O_NO_DAEMON}, {"no-cold", no_argument, NULL, O_NO_COLD},
		{"fixed-order", no_argument, NULL, O_FIXED}, {"text", no_argument, NULL, O_TEXT},
		{"tsv", no_argument, NULL, O_TSV},         {"json", no_argument, NULL, O_JSON},
		{"samples", required_argument, NULL, O_SAMPLES}, {"concurrent", required_argument, NULL, O_CONC},
		{"concurrent-cold", no_argument, NULL, O_CONC_COLD}, {"timeout", required_argument, NULL, O_TIMEOUT},
		{"no-pool-check", no_argument, NULL, O_NO_POOL_CHECK},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	*o = (struct opts){.rounds = 100, .warmup = 5, .settle_ms = 50, .timeout_s = 300, .audit = true};
	int c;
	while ((c = getopt_long(argc, argv, "+n:w:C:S:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o->rounds = parse_u64(optarg, "rounds"); break;
		case 'w': o->warmup = parse_u64(optarg, "warmup"); break;
		case 'C': o->dir = optarg; break;
		case 'S': o->socket = optarg; break;
		case 's': o->seed = parse_u64(optarg, "seed"); o->have_seed = true; break;
		case O_SETTLE: o->settle_ms = parse_u64(optarg, "settle"); break;
		case O_AUDIT: o->audit = parse_onoff(optarg, "--audit"); break;
		case O_AUDIT_LOG: o->audit_log = optarg; break;
		case O_NO_DAEMON: o->no_daemon = true; break;
		case O_NO_COLD: o->no_cold = true; break;
		case O_FIXED: o->fixed = true; break;
		case O_TEXT: o->fmt = FMT_TEXT; break;
		case O_TSV: o->fmt = FMT_TSV; break;
		case O_JSON: o->fmt = FMT_JSON; break;
		case O_SAMPLES: o->samples = optarg; break;
		case O_CONC: o->concurrent = parse_u64(optarg, "concurrent"); break;
		case O_CONC_COLD: o->concurrent_cold = true; break;
		case O_TIMEOUT: o->timeout_s = parse_u64(optarg, "timeout"); break;
		case O_NO_POOL_CHECK: o->no_pool_check = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (o->rounds < 1 || o->rounds > 10000000 || o->warmup > 10000000)
		die("--rounds must be 1 to 10000000, --warmup at most 10000000");
	if (o->settle_ms > 60000 || o->timeout_s < 1 || o->concurrent > 100000)
		die("--settle at most 60000, --timeout at least 1, --concurrent at most 100000");
	if (!o->audit && o->audit_log)
		die("--audit-log with --audit off");
	if (optind >= argc || strcmp(argv[optind], SEPARATOR) == 0)
		die("no command (usage: %s [options] -- CMD [ARG...])", prog);
	return optind;
}

static cordon_command *make_command(char *const *cmd, enum cordon_daemon_use use, const struct opts *o)
{
	cordon_command *c = cordon_command_new((const char *const *)cmd);
	struct cordon_error *err = NULL;
	if (!c)
		die("cordon_command_new: out of memory");
	if (cordon_command_set_daemon(c, use, o->socket, &err) < 0 ||
	    cordon_command_set_audit(c, o->audit, o->audit_log, &err) < 0)
		die("%s", err && err->message ? err->message : "cordon_command_set_*");
	if (use == CORDON_DAEMON_ALWAYS && !o->no_pool_check && !o->concurrent) {
		/* The process serving the request then says on stderr whether a pooled sandbox ran it. The
		 * variable is not part of the pool's key, and the command ignores it. */
		size_t n = 0;
		while (environ[n])
			n++;
		const char **env = xcalloc(n + 2, sizeof(*env));
		memcpy(env, environ, n * sizeof(*env));
		env[n] = "CORDON_DEBUG_POOL=1";
		if (cordon_command_set_env(c, env, &err) < 0)
			die("%s", err && err->message ? err->message : "cordon_command_set_env");
		free(env);
	}
	return c;
}

static struct variant *make_variants(int first, int argc, char **argv, const struct opts *o, size_t *nv)
{
	struct variant *vs = xcalloc((size_t)argc + 3, sizeof(*vs));
	/* The measured command: argv[first] up to the first SEPARATOR. */
	int end = first;
	while (end < argc && strcmp(argv[end], SEPARATOR) != 0)
		end++;
	char **cmd = &argv[first];
	bool more = end < argc;
	if (more)
		argv[end] = NULL;
	size_t n = 0;
	vs[n++] = (struct variant){.name = "native", .kind = K_EXEC, .argv = cmd, .path = resolve(cmd[0]), .pool_fd = -1};
	if (!o->no_daemon) {
		vs[n] = (struct variant){.name = "daemon", .kind = K_DAEMON, .cmd = make_command(cmd, CORDON_DAEMON_ALWAYS, o),
					 .pool_fd = -1, .pool_last = POOL_UNKNOWN};
		if (!o->no_pool_check && (vs[n].pool_fd = memfd_create("bench-daemon-pool", MFD_CLOEXEC)) < 0)
			die("memfd_create: %s", strerror(errno));
		n++;
	}
	if (!o->no_cold)
		vs[n++] = (struct variant){.name = "cold", .kind = K_COLD, .cmd = make_command(cmd, CORDON_DAEMON_NEVER, o),
					   .pool_fd = -1};
	for (int i = end + 1; more && i < argc;) {
		int j = i;
		while (j < argc && strcmp(argv[j], SEPARATOR) != 0)
			j++;
		if (j - i < 2)
			die("variant %zu: need NAME and a command", n + 1);
		if (j < argc)
			argv[j] = NULL;
		vs[n] = (struct variant){.name = argv[i], .kind = K_EXEC, .argv = &argv[i + 1], .path = resolve(argv[i + 1]),
					 .pool_fd = -1};
		for (size_t k = 0; k < n; k++)
			if (strcmp(vs[k].name, vs[n].name) == 0)
				die("duplicate variant name '%s'", vs[n].name);
		n++;
		if (j < argc && j + 1 == argc)
			die("trailing '" SEPARATOR "' without a variant");
		i = j + 1;
	}
	*nv = n;
	return vs;
}

int main(int argc, char **argv)
{
	struct opts o;
	int first = parse_opts(argc, argv, &o);
	size_t nv = 0;
	/* Resolved before -C: a relative path means one relative to where we were started. */
	struct variant *vs = make_variants(first, argc, argv, &o, &nv);
	char *const *cmd = &argv[first];
	if (o.dir && chdir(o.dir) != 0)
		die("chdir %s: %s", o.dir, strerror(errno));
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		die("getcwd: %s", strerror(errno));
	cordon_policy *policy = cordon_policy_new();
	struct cordon_error *err = NULL;
	if (!policy || cordon_policy_set_workspace(policy, cwd, &err) < 0)
		die("policy: %s", err && err->message ? err->message : "out of memory");
	bench_policy = policy;
	if (!o.have_seed)
		o.seed = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
	rng_state = o.seed;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		die("/dev/null: %s", strerror(errno));
	fflush(NULL); /* nothing buffered may be duplicated into children */

	int rc;
	if (o.concurrent) {
		/* N processes hold a connection and the command's three stdio descriptors each: up to the
		 * hard limit, as a caller starting that many would have to. */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		cordon_command *c = make_command(cmd, o.concurrent_cold ? CORDON_DAEMON_NEVER : CORDON_DAEMON_ALWAYS, &o);
		rc = concurrent_mode(&o, c, null_fd);
		cordon_command_free(c);
	} else {
		for (size_t i = 0; i < nv; i++) {
			vs[i].ms = xcalloc((size_t)o.rounds, sizeof(double));
			vs[i].delta = xcalloc((size_t)o.rounds, sizeof(double));
		}
		rc = rounds_mode(&o, vs, nv, null_fd, cmd);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing output: %s", strerror(errno));
	for (size_t i = 0; i < nv; i++) {
		cordon_command_free(vs[i].cmd);
		free(vs[i].path);
		free(vs[i].ms);
		free(vs[i].delta);
	}
	free(vs);
	cordon_policy_free(policy);
	return rc;
}
