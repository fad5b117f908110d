// SPDX-License-Identifier: Apache-2.0
/*
 * `cordon log`: recent audit records (docs/audit.md) as a table, or as JSON Lines. The checks and
 * the summaries are core/audit_read.c and core/audit_show.c; this file finds the day files, reads
 * them in order and lays out the lines.
 *
 * Records are streamed: each is printed as soon as it is read, except with --session, where the
 * records whose session starts with the prefix are kept until every file is read, since only then
 * is it known whether the prefix names one session.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/strv.h"
#include "core/audit.h"
#include "core/audit_read.h"
#include "core/audit_show.h"

/* At most this many skipped-line warnings per file; the rest are counted. */
#define WARN_MAX 10

struct log_opts {
	struct audit_filter filter;
	const char *since; /* as given, NULL: the default */
	bool json;
	struct strv files; /* --file PATH, in order */
};

struct kept {
	struct audit_rec rec;
	enum audit_match m;
};

struct log_state {
	const struct log_opts *o;
	size_t columns;	     /* truncate table lines to this many (a terminal); 0: never */
	int time_width;	     /* 8 (HH:MM:SS) or 19 (with the date); 0 until the first row */
	struct tm today;     /* local */
	json_t *starts;	     /* --denied table: unprinted start records by session */
	struct audit_text row;
	struct kept *kept; /* --session: records waiting for the prefix to be resolved */
	size_t nkept, capkept;
	json_t *seen;	      /* --session: the distinct sessions the prefix matched, as keys */
	bool pruned;	      /* --session: two of them differ from the prefix; keep only its equal */
	size_t lines, good, shown;
	bool failed; /* a file could not be read, or stdout could not be written */
};

static void log_help(void)
{
	printf("usage: cordon log [--denied] [--session ID] [--since TIME] [--json] [--file PATH]...\n\n"
	       "Recent audit records, oldest first: local time, session, type and a summary per line.\n\n"
	       "      --since TIME    records from TIME on: 30s, 10m, 2h, 3d ago, or YYYY-MM-DD,\n"
	       "                      YYYY-MM-DDTHH:MM[:SS] in UTC (Z optional); default 24h,\n"
	       "                      and every record with --file\n"
	       "      --session ID    one session: its id or a unique prefix of at least %d characters\n"
	       "      --denied        only denials and denied connections; the table also shows the\n"
	       "                      start line of their session, to say which command it was\n"
	       "      --json          the matching records as JSON Lines instead of a table\n"
	       "      --file PATH     read PATH (`-`: standard input) instead of the audit directory\n"
	       "                      (repeatable)\n"
	       "  -h, --help          this text\n\n"
	       "The log: $XDG_STATE_HOME/cordon/audit/YYYY-MM-DD.jsonl, one file per UTC day\n"
	       "(default $HOME/.local/state/cordon/audit). Malformed lines are skipped with a warning.\n"
	       "Exit status: 0; 125 on a bad option, an ambiguous --session, or a file that cannot be read.\n",
	       AUDIT_SESSION_PREFIX_MIN);
}

/* Writes "cordon log: " and s, escaped, to stderr (file names and reasons may hold any byte). */
static void warn_escaped(const char *prefix, const char *s, const char *suffix)
{
	struct audit_text t = {0};
	audit_put_escaped(&t, s, strlen(s));
	fprintf(stderr, "cordon log: %s%s%s\n", prefix, t.s ? t.s : "", suffix);
	audit_text_free(&t);
}

static void warn_line(const char *name, size_t lineno, const char *why)
{
	struct audit_text t = {0};
	audit_put_escaped(&t, name, strlen(name));
	audit_text_printf(&t, ":%zu: skipped: ", lineno);
	audit_put_escaped(&t, why, strlen(why));
	fprintf(stderr, "cordon log: %s\n", t.s ? t.s : "out of memory");
	audit_text_free(&t);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The directory of the day files, or NULL when there is no home to put it in. */
static char *audit_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	char *dir = NULL;
	if (xdg && xdg[0] == '/')
		return asprintf(&dir, "%s/cordon/audit", xdg) < 0 ? NULL : dir;
	const char *home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
	}
	if (!home)
		return NULL;
	return asprintf(&dir, "%s/.local/state/cordon/audit", home) < 0 ? NULL : dir;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The day files that can hold records from since_ms on, sorted, as full paths. Returns 1 when the
 * directory does not exist, 0 when listed, -1 on error (reported). */
static int list_day_files(const char *dir, int64_t since_ms, struct strv *out)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 1;
		fprintf(stderr, "cordon log: cannot list the audit directory `%s`: %s\n", dir, strerror(errno));
		return -1;
	}
	char first[16] = "";
	if (since_ms != AUDIT_SINCE_ANY)
		audit_day_name(since_ms, first, sizeof(first));
	struct dirent *e;
	struct strv names = {0};
	int rc = 0;
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (audit_is_day_file(e->d_name) && strncmp(e->d_name, first, strlen(first)) >= 0)
			rc = strv_push(&names, e->d_name);
	closedir(d);
	if (names.n)
		qsort(names.v, names.n, sizeof(char *), cmp_str);
	for (size_t i = 0; rc == 0 && i < names.n; i++) {
		char *path = NULL;
		rc = asprintf(&path, "%s/%s", dir, names.v[i]) < 0 ? -1 : strv_push_owned(out, path);
	}
	strv_clear(&names);
	if (rc < 0)
		fprintf(stderr, "cordon log: out of memory\n");
	return rc;
}

/* Appends the local time of ts_ms, right-aligned in the time column: HH:MM:SS today, with the
 * date before it on any other day. The column is as wide as the first row needs. */
static void put_time(struct log_state *st, int64_t ts_ms)
{
	time_t secs = (time_t)(ts_ms / 1000 - (ts_ms % 1000 < 0));
	struct tm tm;
	char buf[40];
	bool ok = localtime_r(&secs, &tm) != NULL;
	bool today = ok && tm.tm_year == st->today.tm_year && tm.tm_yday == st->today.tm_yday;
	if (!ok)
		snprintf(buf, sizeof(buf), "?");
	else if (today)
		snprintf(buf, sizeof(buf), "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	/* Rows come oldest first: when the first is today's, so are the rest (a clock set back can
	 * break this, and only costs the alignment). */
	if (st->time_width == 0)
		st->time_width = today ? 8 : 19;
	audit_text_printf(&st->row, "%*s", st->time_width, buf);
}

/* Cuts the row to the terminal's width, counting one column per character. */
static void truncate_row(struct log_state *st)
{
	size_t cols = 0, cut = 0;
	for (size_t i = 0; i < st->row.len; i++) {
		if (((unsigned char)st->row.s[i] & 0xc0) == 0x80)
			continue;
		if (cols == st->columns - 3)
			cut = i;
		if (++cols > st->columns) {
			st->row.len = cut;
			audit_text_put(&st->row, "...", 3);
			return;
		}
	}
}

static void print_row(struct log_state *st, const struct audit_rec *r)
{
	audit_text_clear(&st->row);
	put_time(st, r->ts_ms);
	audit_text_put(&st->row, "  ", 2);
	struct audit_text sess = {0};
	audit_put_escaped(&sess, r->session, strnlen(r->session, 8));
	audit_text_printf(&st->row, "%-8s  %-6s  ", sess.s ? sess.s : "?", r->type_name);
	audit_text_free(&sess);
	audit_summary(r, &st->row);
	if (st->row.oom) {
		fprintf(stderr, "cordon log: out of memory\n");
		st->failed = true;
		return;
	}
	if (st->columns > 3)
		truncate_row(st);
	fwrite(st->row.s, 1, st->row.len, stdout);
	putchar('\n');
	st->shown++;
}

static void print_json(struct log_state *st, const struct audit_rec *r)
{
	char *text = json_dumps(r->obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
	if (!text) {
		fprintf(stderr, "cordon log: out of memory\n");
		st->failed = true;
		return;
	}
	fputs(text, stdout);
	putchar('\n');
	free(text);
	st->shown++;
}

/* Prints one record that passed the filter (m is AUDIT_MATCH or AUDIT_CONTEXT). */
static void emit(struct log_state *st, const struct audit_rec *r, enum audit_match m)
{
	if (st->o->json) {
		if (m == AUDIT_MATCH)
			print_json(st, r);
		return;
	}
	if (m == AUDIT_CONTEXT) {
		json_object_set(st->starts, r->session, r->obj);
		return;
	}
	if (st->o->filter.denied_only) {
		json_t *start = json_object_get(st->starts, r->session);
		if (start) {
			struct audit_rec ctx = {.obj = start, .type = AUDIT_REC_START, .type_name = "start",
						.session = r->session};
			audit_parse_ts(json_string_value(json_object_get(start, "ts")), &ctx.ts_ms);
			print_row(st, &ctx);
			json_object_del(st->starts, r->session);
		}
	}
	print_row(st, r);
}

/* Drops the kept records of every session but the one that equals the prefix. */
static void prune_kept(struct log_state *st)
{
	size_t n = 0;
	for (size_t i = 0; i < st->nkept; i++) {
		if (strcmp(st->kept[i].rec.session, st->o->filter.session) == 0)
			st->kept[n++] = st->kept[i];
		else
			audit_rec_release(&st->kept[i].rec);
	}
	st->nkept = n;
	st->pruned = true;
}

/* With --session: keeps r (taking its object) until every file is read. Once two sessions that
 * differ from the prefix have matched it, the outcome is either "ambiguous" or the session equal to
 * the prefix, so only the records of that one are kept from then on. */
static void keep(struct log_state *st, struct audit_rec *r, enum audit_match m)
{
	const char *prefix = st->o->filter.session;
	if (!json_object_get(st->seen, r->session) && json_object_set_new(st->seen, r->session, json_true()) < 0)
		goto oom;
	size_t others = json_object_size(st->seen) - (json_object_get(st->seen, prefix) ? 1 : 0);
	if (!st->pruned && others >= 2)
		prune_kept(st);
	if (st->pruned && strcmp(r->session, prefix) != 0)
		return;
	if (st->nkept == st->capkept) {
		size_t want = st->capkept ? st->capkept * 2 : 64;
		struct kept *grown = realloc(st->kept, want * sizeof(*grown));
		if (!grown)
			goto oom;
		st->kept = grown;
		st->capkept = want;
	}
	st->kept[st->nkept++] = (struct kept){.rec = *r, .m = m};
	memset(r, 0, sizeof(*r));
	return;
oom:
	fprintf(stderr, "cordon log: out of memory\n");
	st->failed = true;
}

static void take_line(struct log_state *st, const char *name, size_t lineno, const char *line, size_t len,
		      size_t *warned)
{
	char why[256];
	struct audit_rec r;
	if (len == SIZE_MAX)
		snprintf(why, sizeof(why), "longer than %u bytes", AUDIT_LINE_MAX);
	if (len == SIZE_MAX || audit_rec_parse(line, len, &r, why, sizeof(why)) < 0) {
		if ((*warned)++ < WARN_MAX)
			warn_line(name, lineno, why);
		return;
	}
	st->good++;
	enum audit_match m = audit_filter_check(&st->o->filter, &r);
	if (m == AUDIT_CONTEXT && st->o->json)
		m = AUDIT_SKIP; /* JSON Lines carry exactly the matching records */
	if (m != AUDIT_SKIP && st->o->filter.session)
		keep(st, &r, m);
	else if (m != AUDIT_SKIP)
		emit(st, &r, m);
	audit_rec_release(&r);
}

/* Opens a file to read: `-` is stdin; day files must be regular files, --file ones only not
 * directories (a pipe or /dev/stdin will do). NULL on error, reported. */
static FILE *open_source(const char *path, bool day_file)
{
	if (strcmp(path, "-") == 0 && !day_file)
		return stdin;
	/* O_NONBLOCK: a fifo among the day files must not hang the open; it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | (day_file ? O_NONBLOCK : 0));
	struct stat st;
	const char *why = NULL;
	if (fd < 0 || fstat(fd, &st) < 0)
		why = strerror(errno);
	else if (S_ISDIR(st.st_mode))
		why = "is a directory";
	else if (day_file && !S_ISREG(st.st_mode))
		why = "not a regular file";
	FILE *f = why ? NULL : fdopen(fd, "r");
	if (!f && !why)
		why = strerror(errno);
	if (why) {
		if (fd >= 0)
			close(fd);
		struct audit_text t = {0};
		audit_put_escaped(&t, path, strlen(path));
		fprintf(stderr, "cordon log: cannot read `%s`: %s\n", t.s ? t.s : "?", why);
		audit_text_free(&t);
	}
	return f;
}

static void read_source(struct log_state *st, const char *path, bool day_file)
{
	FILE *f = open_source(path, day_file);
	if (!f) {
		st->failed = true;
		return;
	}
	const char *name = f == stdin ? "(stdin)" : path;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0, len = 0, lineno = 0, warned = 0;
	int rc;
	while ((rc = audit_read_line(f, &buf, &cap, &len, AUDIT_LINE_MAX)) == 1) {
		st->lines++;
		take_line(st, name, ++lineno, buf, len, &warned);
	}
	if (rc < 0) {
		char why[128];
		snprintf(why, sizeof(why), "`: %s", strerror(errno));
		warn_escaped("cannot read `", name, why);
		st->failed = true;
	}
	if (warned > WARN_MAX) {
		char more[64];
		snprintf(more, sizeof(more), ": %zu more bad lines skipped", warned - WARN_MAX);
		warn_escaped("", name, more);
	}
	if (f != stdin)
		fclose(f);
}

/* The sessions --session matched, in the order first seen (pointers into st->seen), and how many;
 * NULL when out of memory. */
static char **seen_ids(struct log_state *st, size_t *n)
{
	char **ids = calloc(json_object_size(st->seen) + 1, sizeof(char *));
	const char *key;
	json_t *value;
	*n = 0;
	if (ids)
		json_object_foreach(st->seen, key, value)
			ids[(*n)++] = (char *)key;
	return ids;
}

static void say_ambiguous(const char *prefix, char *const *ids, size_t n)
{
	struct audit_text t = {0};
	for (size_t i = 0; i < n && i < 5; i++) {
		audit_text_put(&t, i ? ", " : "", i ? 2 : 0);
		audit_put_escaped(&t, ids[i], strlen(ids[i]));
	}
	fprintf(stderr, "cordon log: --session `%s` matches %zu sessions (%s%s); hint: give more of the id\n", prefix,
		n, t.oom || !t.s ? "?" : t.s, n > 5 ? ", ..." : "");
	audit_text_free(&t);
}

/* --session: prints the kept records of the one session the prefix names, and frees them all. */
static void flush_kept(struct log_state *st)
{
	size_t n = 0;
	_cleanup_free_ char **ids = seen_ids(st, &n);
	bool ambiguous = false;
	const char *id = ids ? audit_pick_session(st->o->filter.session, ids, n, &ambiguous) : NULL;
	if (!ids) {
		fprintf(stderr, "cordon log: out of memory\n");
		st->failed = true;
	} else if (ambiguous) {
		say_ambiguous(st->o->filter.session, ids, n);
		st->failed = true;
	}
	for (size_t i = 0; i < st->nkept; i++) {
		struct audit_rec *r = &st->kept[i].rec;
		if (id && strcmp(r->session, id) == 0)
			emit(st, r, st->kept[i].m);
		audit_rec_release(r);
	}
	st->nkept = 0;
}

enum { OPT_DENIED = 0x100, OPT_SESSION, OPT_SINCE, OPT_JSON, OPT_FILE };

static const struct option log_longopts[] = {
	{"denied", no_argument, NULL, OPT_DENIED},
	{"session", required_argument, NULL, OPT_SESSION},
	{"since", required_argument, NULL, OPT_SINCE},
	{"json", no_argument, NULL, OPT_JSON},
	{"file", required_argument, NULL, OPT_FILE},
	{"help", no_argument, NULL, 'h'},
	{0},
};

/* Names the option getopt_long() refused ('?' or ':'). */
static int bad_option(int c, char **argv)
{
	const char *arg = argv[optind - 1] ? argv[optind - 1] : "?";
	if (c == ':')
		return cli_usage_error("log", "option `%s` needs a value", arg);
	if (optopt > 0 && optopt < 0x100)
		return cli_usage_error("log", "unknown option `-%c`", optopt);
	if (optopt >= 0x100)
		return cli_usage_error("log", "option `%s` takes no value", arg);
	return cli_usage_error("log", "unknown option `%s`", arg);
}

/* Returns 1 after --help, 0 when the options are good, CORDON_EXIT_FAILURE after a usage error. */
static int parse_args(int argc, char **argv, struct log_opts *o, int64_t now)
{
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", log_longopts, NULL)) != -1) {
		switch (c) {
		case 'h': log_help(); return 1;
		case OPT_DENIED: o->filter.denied_only = true; break;
		case OPT_SESSION: o->filter.session = optarg; break;
		case OPT_SINCE: o->since = optarg; break;
		case OPT_JSON: o->json = true; break;
		case OPT_FILE:
			if (strv_push(&o->files, optarg) < 0)
				return fprintf(stderr, "cordon log: out of memory\n"), CORDON_EXIT_FAILURE;
			break;
		default: return bad_option(c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("log", "unexpected argument `%s`", argv[optind]);
	if (o->filter.session && strlen(o->filter.session) < AUDIT_SESSION_PREFIX_MIN)
		return cli_usage_error("log", "--session `%s`: give at least %d characters of the id",
				       o->filter.session, AUDIT_SESSION_PREFIX_MIN);
	/* A file named on the command line is read whole unless --since says otherwise. */
	const char *since = o->since ? o->since : o->files.n ? NULL : "24h";
	o->filter.since_ms = AUDIT_SINCE_ANY;
	if (since && audit_parse_since(since, now, &o->filter.since_ms) < 0)
		return cli_usage_error("log", "--since `%s`: expected 30s, 10m, 2h, 3d, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]",
				       since);
	return 0;
}

static void setup_output(struct log_state *st, int64_t now)
{
	time_t secs = (time_t)(now / 1000);
	if (!localtime_r(&secs, &st->today))
		memset(&st->today, 0, sizeof(st->today));
	struct winsize ws;
	if (!st->o->json && isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
		st->columns = ws.ws_col;
	st->starts = json_object();
	st->seen = json_object();
}

/* The day files to read, or 1 when there is no audit directory (said), -1 on error (said). */
static int find_day_files(int64_t since_ms, struct strv *sources)
{
	_cleanup_free_ char *dir = audit_dir();
	if (!dir) {
		fprintf(stderr, "cordon log: cannot find the audit directory: neither XDG_STATE_HOME nor HOME is an "
				"absolute path, and uid %u has no home directory\n", (unsigned)getuid());
		return -1;
	}
	int rc = list_day_files(dir, since_ms, sources);
	if (rc > 0)
		fprintf(stderr, "cordon log: no audit records yet (looked in %s)\n", dir);
	return rc;
}

/* What stderr should say after the records, and the exit status. */
static int finish(struct log_state *st)
{
	if (st->lines > 0 && st->good == 0)
		fprintf(stderr, "cordon log: none of the %zu lines read is a schema-1 audit record\n", st->lines);
	else if (st->shown == 0 && !st->failed && !st->o->json) {
		char since[32] = "";
		if (st->o->filter.since_ms != AUDIT_SINCE_ANY)
			audit_format_time(st->o->filter.since_ms, since, sizeof(since));
		fprintf(stderr, "cordon log: no matching records%s%s\n", *since ? " since " : "", since);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "cordon log: writing the output: %s\n", strerror(errno));
		st->failed = true;
	}
	return st->failed ? CORDON_EXIT_FAILURE : 0;
}

int cmd_log(int argc, char **argv)
{
	struct log_opts o = {0};
	int64_t now = now_ms();
	int rc = parse_args(argc, argv, &o, now);
	if (rc != 0) {
		strv_clear(&o.files);
		return rc == 1 ? 0 : rc;
	}
	struct strv sources = {0};
	bool day_files = o.files.n == 0;
	rc = day_files ? find_day_files(o.filter.since_ms, &sources) : strv_extend(&sources, &o.files);
	if (rc != 0) {
		if (!day_files)
			fprintf(stderr, "cordon log: out of memory\n");
		strv_clear(&sources);
		strv_clear(&o.files);
		return rc > 0 ? 0 : CORDON_EXIT_FAILURE;
	}
	struct log_state st = {.o = &o};
	setup_output(&st, now);
	for (size_t i = 0; i < sources.n; i++)
		read_source(&st, sources.v[i], day_files);
	if (o.filter.session)
		flush_kept(&st);
	rc = finish(&st);
	json_decref(st.starts);
	audit_text_free(&st.row);
	free(st.kept);
	json_decref(st.seen);
	strv_clear(&sources);
	strv_clear(&o.files);
	return rc;
}
