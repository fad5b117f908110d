// SPDX-License-Identifier: Apache-2.0
/*
 * When stdin is a terminal the command gets a pty of its own, made inside the sandbox's devpts, and
 * the supervisor relays bytes between it and the user's terminal (put in raw mode meanwhile). The
 * command can then use job control and full-screen programs, while nothing it does reaches the
 * user's terminal as input: TIOCSTI on its own pty only feeds itself.
 *
 * The user's terminal keeps ISIG: Ctrl-C and Ctrl-\ stay signals to cordon, which passes each to the
 * sandbox's pty as that pty's own interrupt or quit character (so its foreground job gets it) and
 * can still end a command that no longer listens (see the supervisor). Ctrl-Z is not a signal to
 * cordon: it travels as a byte, for job control inside.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "backend/linux/linux.h"

struct pty_relay {
	int master;
	char in[4096];  /* user -> command */
	size_t in_len;
	char out[16384]; /* command -> user */
	size_t out_len;
	bool stdin_eof;
	bool master_eof;
};

static struct termios saved;
static bool raw_on;

int pty_enter_raw(void)
{
	if (tcgetattr(0, &saved) < 0)
		return -1;
	struct termios t = saved;
	cfmakeraw(&t);
	t.c_lflag |= ISIG;
	t.c_cc[VSUSP] = _POSIX_VDISABLE;
	if (tcsetattr(0, TCSANOW, &t) < 0)
		return -1;
	raw_on = true;
	return 0;
}

void pty_leave_raw(void)
{
	if (raw_on)
		tcsetattr(0, TCSANOW, &saved);
	raw_on = false;
}

struct pty_relay *pty_relay_new(int master)
{
	struct pty_relay *r = calloc(1, sizeof(*r));
	if (!r) {
		close(master);
		return NULL;
	}
	r->master = master;
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	return r;
}

void pty_relay_free(struct pty_relay *r)
{
	if (!r)
		return;
	close(r->master);
	free(r);
}

void pty_relay_interrupt(struct pty_relay *r, int sig)
{
	struct termios t;
	if (tcgetattr(r->master, &t) < 0)
		return;
	unsigned char c = t.c_cc[sig == SIGQUIT ? VQUIT : VINTR];
	if (c != _POSIX_VDISABLE && write(r->master, &c, 1) != 1)
		return;
}

void pty_relay_winch(struct pty_relay *r)
{
	struct winsize ws;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0)
		ioctl(r->master, TIOCSWINSZ, &ws);
}

int pty_relay_fds(struct pty_relay *r, struct pollfd *pfd)
{
	int n = 0;
	short mev = 0;
	if (!r->master_eof && r->out_len < sizeof(r->out))
		mev |= POLLIN;
	if (!r->master_eof && r->in_len)
		mev |= POLLOUT;
	pfd[n++] = (struct pollfd){.fd = mev ? r->master : -1, .events = mev};
	pfd[n++] = (struct pollfd){.fd = (!r->stdin_eof && r->in_len < sizeof(r->in)) ? 0 : -1, .events = POLLIN};
	pfd[n++] = (struct pollfd){.fd = r->out_len ? 1 : -1, .events = POLLOUT};
	return n;
}

static void flush_out(struct pty_relay *r)
{
	while (r->out_len) {
		ssize_t w = write(1, r->out, r->out_len);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				return;
			r->out_len = 0; /* stdout is gone: drop */
			return;
		}
		memmove(r->out, r->out + w, r->out_len - (size_t)w);
		r->out_len -= (size_t)w;
	}
}

void pty_relay_handle(struct pty_relay *r, struct pollfd *pfd, int n)
{
	if (n < 3)
		return;
	if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t got = read(0, r->in + r->in_len, sizeof(r->in) - r->in_len);
		if (got > 0)
			r->in_len += (size_t)got;
		else if (got == 0 || (errno != EINTR && errno != EAGAIN))
			r->stdin_eof = true;
	}
	if ((pfd[0].revents & POLLOUT) && r->in_len) {
		ssize_t w = write(r->master, r->in, r->in_len);
		if (w > 0) {
			memmove(r->in, r->in + w, r->in_len - (size_t)w);
			r->in_len -= (size_t)w;
		}
	}
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		ssize_t got = read(r->master, r->out + r->out_len, sizeof(r->out) - r->out_len);
		if (got > 0)
			r->out_len += (size_t)got;
		else if (got == 0 || (errno != EINTR && errno != EAGAIN))
			r->master_eof = true; /* EIO: every slave fd is closed */
	}
	if (r->out_len)
		flush_out(r);
}

void pty_relay_drain(struct pty_relay *r)
{
	for (int i = 0; i < 1024 && !r->master_eof; i++) {
		ssize_t got = read(r->master, r->out + r->out_len, sizeof(r->out) - r->out_len);
		if (got <= 0)
			break;
		r->out_len += (size_t)got;
		flush_out(r);
	}
	flush_out(r);
}
