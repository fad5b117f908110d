// SPDX-License-Identifier: Apache-2.0
/*
 * Transparent redirection for `--network proxy`, set up by the sandbox init in the command's network
 * namespace (only `lo`, and CAP_NET_ADMIN over it through its user namespace):
 *
 *   1. a default route `default dev lo src 127.0.0.1` (rtnetlink). Without it connect() to a public
 *      address fails with ENETUNREACH before netfilter sees the packet; without the source address the
 *      replies are dropped. There is no IPv6 route, so IPv6 beyond ::1 keeps failing fast.
 *   2. one atomic nfnetlink batch (libnftnl) with the equivalent of
 *
 *        table ip cordon {
 *          chain nat_out {
 *            type nat hook output priority -100; policy accept;
 *            udp dport 53 redirect to :DNS_PORT
 *            ip daddr 127.0.0.1 tcp dport P redirect to :TCP_PORT     # one rule per host port P
 *            ip daddr 127.0.0.0/8 return
 *            meta l4proto tcp redirect to :TCP_PORT
 *          }
 *          chain filter_out {
 *            type filter hook output priority 0; policy drop;
 *            ip daddr 127.0.0.0/8 accept
 *          }
 *        }
 *
 * The expressions are those `nft --debug=netlink` prints for that text. Redirected packets reach the
 * filter chain with their new destination, 127.0.0.1, so it only has to accept loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/rtnetlink.h>

#include "backend/linux/nft.h"
#include "common/cleanup.h"
#include "common/error.h"

#define TABLE "cordon"
#define NFT_WHAT "install the transparent-proxy rules (nftables)"

static void close_nlp(struct mnl_socket **nl)
{
	if (*nl)
		mnl_socket_close(*nl);
}
#define _cleanup_nl_ __attribute__((cleanup(close_nlp)))

/* ---- netlink: one request or batch, then its acknowledgements ---- */

/*
 * Only the last message asks for an acknowledgement: the kernel reports an error for any message that
 * fails (and for a failed commit) before it acknowledges the last one, and one acknowledgement per
 * message would overflow the socket's receive buffer for a large ruleset. The kernel handles netlink
 * messages to itself synchronously inside sendmsg(), so every answer is queued by the time it returns:
 * reading with MSG_DONTWAIT cannot miss one, and a missing one is an error instead of a hang. Answers
 * not from the kernel (nl_pid != 0) are ignored.
 */
static int read_ack(struct mnl_socket *nl, const char *what, struct cordon_error **err)
{
	_Alignas(struct nlmsghdr) char buf[8192];
	for (;;) {
		struct sockaddr_nl from = {0};
		socklen_t from_len = sizeof(from);
		ssize_t n = recvfrom(mnl_socket_get_fd(nl), buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from,
				     &from_len);
		if (n < 0 && errno == EAGAIN)
			return cerr_set(err, EPROTO, "%s: the kernel did not acknowledge it", what);
		if (n < 0)
			return cerr_sys(err, errno, "%s: read the answer", what);
		if (from.nl_pid != 0)
			continue;
		int len = (int)n;
		for (const struct nlmsghdr *h = (void *)buf; mnl_nlmsg_ok(h, len); h = mnl_nlmsg_next(h, &len)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < mnl_nlmsg_size(sizeof(struct nlmsgerr)))
				return cerr_set(err, EPROTO, "%s: truncated answer", what);
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
			if (e->error)
				return cerr_sys(err, -e->error, "%s", what);
			return 0;
		}
	}
}

/* Sends `len` bytes of messages, the last with NLM_F_ACK, on a new socket of `bus`. */
static int talk(int bus, const void *msg, size_t len, const char *what, struct cordon_error **err)
{
	_cleanup_nl_ struct mnl_socket *nl = mnl_socket_open2(bus, SOCK_CLOEXEC);
	if (!nl)
		return cerr_sys(err, errno, "%s: netlink socket", what);
	int one = 1; /* errors quote only the failing message's header, so every answer is small */
	if (mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return cerr_sys(err, errno, "%s: netlink socket", what);
	if (mnl_socket_sendto(nl, msg, len) < 0)
		return cerr_sys(err, errno, "%s", what);
	return read_ack(nl, what, err);
}

/* `ip route replace default dev lo src 127.0.0.1` */
static int add_default_route(struct cordon_error **err)
{
	const char *what = "add the default route via loopback (rtnetlink)";
	unsigned ifindex = if_nametoindex("lo");
	if (!ifindex)
		return cerr_sys(err, errno, "%s: find `lo`", what);
	_Alignas(struct nlmsghdr) char buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK;
	nlh->nlmsg_seq = 1;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET; /* dst_len 0: the default route */
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK; /* no gateway: the destination is "on" lo, as `ip route` makes it */
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	mnl_attr_put_u32(nlh, RTA_PREFSRC, htonl(INADDR_LOOPBACK));
	return talk(NETLINK_ROUTE, buf, nlh->nlmsg_len, what, err);
}

/* ---- expressions: each helper appends one to the rule; -1 only when out of memory ---- */

static struct nftnl_expr *add_expr(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);
	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

/* Loads `len` bytes at `offset` of the network or transport header into register 1. */
static int add_payload(struct nftnl_rule *r, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = add_expr(r, "payload");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	return 0;
}

/* Loads the layer 4 protocol number (one byte) into register 1. */
static int add_meta_l4proto(struct nftnl_rule *r)
{
	struct nftnl_expr *e = add_expr(r, "meta");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return 0;
}

/* Ends the rule's evaluation unless register 1 holds exactly these `len` bytes. */
static int add_cmp_eq(struct nftnl_rule *r, const void *data, uint32_t len)
{
	struct nftnl_expr *e = add_expr(r, "cmp");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

static int add_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = add_expr(r, "immediate");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	return 0;
}

/* `redirect to :port`: the destination becomes the primary address of the packet's interface (lo:
 * 127.0.0.1) and `port`, loaded into register 1 in network byte order. */
static int add_redir(struct nftnl_rule *r, uint16_t port)
{
	uint16_t be = htons(port);
	struct nftnl_expr *imm = add_expr(r, "immediate");
	if (!imm)
		return -1;
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &be, sizeof(be));
	struct nftnl_expr *e = add_expr(r, "redir");
	if (!e)
		return -1;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
	return 0;
}

/* ---- rules ---- */

enum rule_dst { DST_ANY, DST_LOCALHOST /* 127.0.0.1 */, DST_LOOPBACK /* 127.0.0.0/8 */ };

struct rule_spec {
	const char *chain;
	enum rule_dst dst;
	uint8_t l4proto;      /* IPPROTO_TCP or IPPROTO_UDP; 0: any */
	uint16_t dport;       /* 0: any; needs l4proto */
	uint16_t redirect_to; /* nonzero: redirect to this port; else the verdict */
	int verdict;
};

static int add_match(struct nftnl_rule *r, const struct rule_spec *s)
{
	int rc = 0;
	if (s->dst == DST_LOCALHOST) {
		uint32_t addr = htonl(INADDR_LOOPBACK);
		rc |= add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct iphdr, daddr), 4);
		rc |= add_cmp_eq(r, &addr, 4);
	} else if (s->dst == DST_LOOPBACK) {
		uint8_t net = 127; /* a /8 is its first byte, as nft compiles it */
		rc |= add_payload(r, NFT_PAYLOAD_NETWORK_HEADER, offsetof(struct iphdr, daddr), 1);
		rc |= add_cmp_eq(r, &net, 1);
	}
	if (s->l4proto) {
		rc |= add_meta_l4proto(r);
		rc |= add_cmp_eq(r, &s->l4proto, 1);
	}
	if (s->dport) {
		uint16_t port = htons(s->dport); /* TCP and UDP both keep the destination port at offset 2 */
		rc |= add_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, offsetof(struct udphdr, dest), 2);
		rc |= add_cmp_eq(r, &port, 2);
	}
	return rc;
}

struct batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq;
	struct nlmsghdr *last;
};

static struct nlmsghdr *msg_hdr(struct batch *bt, uint16_t type, uint16_t flags)
{
	bt->last = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_IPV4, flags, bt->seq++);
	return bt->last;
}

static int put_rule(struct batch *bt, const struct rule_spec *s)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	if (!r)
		return -1;
	int rc = nftnl_rule_set_str(r, NFTNL_RULE_TABLE, TABLE) | nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, s->chain);
	rc |= add_match(r, s);
	rc |= s->redirect_to ? add_redir(r, s->redirect_to) : add_verdict(r, s->verdict);
	if (rc == 0) {
		nftnl_rule_nlmsg_build_payload(msg_hdr(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r);
		rc = mnl_nlmsg_batch_next(bt->b) ? 0 : -1;
	}
	nftnl_rule_free(r);
	return rc;
}

/* NLM_F_EXCL: a second setup in the same namespace fails instead of doubling the rules. */
static int put_table(struct batch *bt)
{
	struct nftnl_table *t = nftnl_table_alloc();
	if (!t)
		return -1;
	int rc = nftnl_table_set_str(t, NFTNL_TABLE_NAME, TABLE);
	if (rc == 0) {
		nftnl_table_nlmsg_build_payload(msg_hdr(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL), t);
		rc = mnl_nlmsg_batch_next(bt->b) ? 0 : -1;
	}
	nftnl_table_free(t);
	return rc;
}

static int put_chain(struct batch *bt, const char *name, const char *type, int prio, uint32_t policy)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	if (!c)
		return -1;
	int rc = nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, TABLE) | nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) |
		 nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_OUT);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, policy);
	if (rc == 0) {
		nftnl_chain_nlmsg_build_payload(msg_hdr(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE), c);
		rc = mnl_nlmsg_batch_next(bt->b) ? 0 : -1;
	}
	nftnl_chain_free(c);
	return rc;
}

/* Fills the batch between its begin and end markers, which ask for no acknowledgement. Statements in
 * order: the messages' order is the ruleset's. */
static int put_ruleset(struct batch *bt, const struct lx_transparent *t)
{
	const struct rule_spec dns = {"nat_out", .l4proto = IPPROTO_UDP, .dport = 53, .redirect_to = t->dns_port};
	const struct rule_spec loopback = {"nat_out", .dst = DST_LOOPBACK, .verdict = NFT_RETURN};
	const struct rule_spec tcp = {"nat_out", .l4proto = IPPROTO_TCP, .redirect_to = t->tcp_port};
	const struct rule_spec accept = {"filter_out", .dst = DST_LOOPBACK, .verdict = NF_ACCEPT};
	int rc = put_table(bt);
	rc |= put_chain(bt, "nat_out", "nat", -100, NF_ACCEPT);
	rc |= put_chain(bt, "filter_out", "filter", 0, NF_DROP);
	rc |= put_rule(bt, &dns);
	for (size_t i = 0; i < t->n_host_ports; i++) {
		const struct rule_spec host = {"nat_out", .dst = DST_LOCALHOST, .l4proto = IPPROTO_TCP,
					       .dport = t->host_ports[i], .redirect_to = t->tcp_port};
		rc |= put_rule(bt, &host);
	}
	rc |= put_rule(bt, &loopback);
	rc |= put_rule(bt, &tcp);
	rc |= put_rule(bt, &accept);
	return rc;
}

static int install_rules(const struct lx_transparent *t, struct cordon_error **err)
{
	/* A host-port rule takes about 400 bytes, the rest of the ruleset about 1,200 (256 host ports:
	 * 103 KB, half the default socket send buffer). The buffer is twice the limit because
	 * mnl_nlmsg_batch_next() notices an overflow only after the message was written. */
	size_t limit = 8192 + 512 * t->n_host_ports;
	_cleanup_free_ char *buf = malloc(2 * limit);
	struct mnl_nlmsg_batch *b = buf ? mnl_nlmsg_batch_start(buf, limit) : NULL;
	if (!b)
		return cerr_sys(err, ENOMEM, "%s", NFT_WHAT);
	struct batch bt = {.b = b, .seq = 1};
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), bt.seq++);
	mnl_nlmsg_batch_next(b);
	int rc = put_ruleset(&bt, t);
	if (rc == 0) {
		bt.last->nlmsg_flags |= NLM_F_ACK; /* the last rule's; see read_ack() */
		nftnl_batch_end(mnl_nlmsg_batch_current(b), bt.seq++);
		rc = mnl_nlmsg_batch_next(b) ? 0 : -1;
	}
	if (rc < 0)
		cerr_sys(err, ENOMEM, "%s: build the batch", NFT_WHAT);
	else
		rc = talk(NETLINK_NETFILTER, mnl_nlmsg_batch_head(b), mnl_nlmsg_batch_size(b), NFT_WHAT, err);
	mnl_nlmsg_batch_stop(b);
	return rc;
}

int lx_transparent_setup(const struct lx_transparent *t, struct cordon_error **err)
{
	if (!t->tcp_port || !t->dns_port)
		return cerr_set(err, EINVAL, "transparent proxy: the TCP and DNS listener ports must be set");
	if (t->n_host_ports > LX_MAX_HOST_PORTS)
		return cerr_set(err, EINVAL, "transparent proxy: %zu host ports, at most %d", t->n_host_ports,
				LX_MAX_HOST_PORTS);
	for (size_t i = 0; i < t->n_host_ports; i++)
		if (!t->host_ports[i])
			return cerr_set(err, EINVAL, "transparent proxy: host port 0");
	if (add_default_route(err) < 0)
		return -1;
	return install_rules(t, err);
}
