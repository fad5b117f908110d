// SPDX-License-Identifier: Apache-2.0
/* Reporting and argument parsing shared by every action. */
#include "probe.h"

/* ------------------------------------------------------------------------------------------ */
/* Reporting                                                                                  */

const char *errname(int err)
{
	const char *name = strerrorname_np(err);
	return name ? name : "E?";
}

/* Prints `fail ERRNAME: DETAIL: strerror` for err and returns EXIT_REFUSED. */
__attribute__((format(printf, 2, 3))) int fail(int err, const char *fmt, ...)
{
	va_list ap;
	printf("fail %s: ", errname(err));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s\n", strerror(err));
	fflush(stdout);
	return EXIT_REFUSED;
}

/* Prints `ok` followed by an optional detail and returns EXIT_OK. */
__attribute__((format(printf, 1, 2))) int okay(const char *fmt, ...)
{
	va_list ap;
	fputs("ok", stdout);
	if (fmt && *fmt) {
		fputc(' ', stdout);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	fputc('\n', stdout);
	fflush(stdout);
	return EXIT_OK;
}

int usage_error(const char *msg)
{
	fprintf(stderr, "probe: %s\n", msg);
	return EXIT_USAGE;
}

/* Copies at most cap bytes of data into out as printable text (other bytes become '.'). */
void printable(char *out, size_t outlen, const char *data, size_t len)
{
	size_t n = len < outlen - 1 ? len : outlen - 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)data[i];
		out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
	}
	out[n] = '\0';
}

/* ------------------------------------------------------------------------------------------ */
/* Argument parsing                                                                           */

bool parse_ull(const char *s, unsigned long long *out)
{
	char *end = NULL;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno == 0 && end != s && *end == '\0';
}

bool parse_ll(const char *s, long long *out)
{
	char *end = NULL;
	errno = 0;
	*out = strtoll(s, &end, 0);
	return errno == 0 && end != s && *end == '\0';
}

bool parse_int(const char *s, int *out)
{
	long long v = 0;
	if (!parse_ll(s, &v) || v < INT_MIN || v > INT_MAX)
		return false;
	*out = (int)v;
	return true;
}

const char *data_arg(int argc, char **argv, int idx)
{
	return argc > idx ? argv[idx] : DEFAULT_DATA;
}

void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all of data to fd; returns 0 or an errno value. */
int write_all(int fd, const char *data)
{
	size_t len = strlen(data);
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Opens path with flags, writes data, closes. Returns an exit code after reporting. */
int open_and_write(const char *path, int flags, const char *data)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(errno, "open %s", path);
	int err = write_all(fd, data);
	if (err) {
		close(fd);
		return fail(err, "write %s", path);
	}
	if (close(fd) < 0)
		return fail(errno, "close %s", path);
	return okay(NULL);
}
