/* tests/tools/txn-rollback.c: in one transaction send N segments and accept M from a queue, then discharge with fail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/err.h>
#include <bsd/stdlib.h>

#include "../../lib/amqp.h"
#include "../../lib/buf.h"
#include "../../lib/conf.h"
#include "../../lib/status.h"
#include "../../lib/wire.h"

int
main(int argc, char *argv[])
{
	struct onyx_conf c;
	struct onyx_amqp *a;
	struct onyx_link *snd, *rcv;
	struct onyx_buf b = {0};
	char err[512], seg[64];
	int nsend, nacc, i, st;

	setprogname("txn-rollback");
	if (argc != 4)
		errx(64, "usage: txn-rollback queue nsend naccept");
	nsend = atoi(argv[2]);
	nacc = atoi(argv[3]);
	onyx_conf_defaults(&c);
	if (onyx_conf_from_env(&c, err, sizeof(err)) != ONYX_OK)
		errx(78, "%s", err);
	if ((st = onyx_amqp_connect(&c, 10000, &a, err, sizeof(err))) !=
	    ONYX_OK)
		errx(onyx_status_exit(st), "%s", err);
	if (onyx_amqp_sender(a, argv[1], true, &snd) != ONYX_OK ||
	    onyx_amqp_receiver(a, argv[1], nacc > 0 ? nacc : 1, &rcv) !=
	        ONYX_OK)
		errx(69, "%s", onyx_amqp_error(a));
	if (onyx_amqp_txn_declare(a, 10000) != ONYX_OK)
		errx(69, "declare: %s", onyx_amqp_error(a));
	printf("declared\n");
	for (i = 0; i < nsend; i++) {
		b.len = 0;
		snprintf(seg, sizeof(seg), "{\"rollback\":%d}", i);
		onyx_wire_encode_segment(&b, seg, strlen(seg));
		if (onyx_amqp_send(snd, b.p, b.len, true) != ONYX_OK)
			errx(69, "send: %s", onyx_amqp_error(a));
	}
	if (onyx_amqp_settle_sends(a, 10000) != ONYX_OK)
		errx(69, "sends: %s", onyx_amqp_error(a));
	printf("sent %d\n", nsend);
	for (i = 0; i < nacc; i++) {
		struct onyx_amqp_msg m;
		if (onyx_amqp_recv(rcv, 10000, &m) != ONYX_OK)
			errx(69, "recv: %s", onyx_amqp_error(a));
		if (onyx_amqp_accept(a, &m) != ONYX_OK)
			errx(69, "accept: %s", onyx_amqp_error(a));
	}
	printf("accepted %d\n", nacc);
	if ((st = onyx_amqp_txn_rollback(a, 10000)) != ONYX_OK)
		errx(69, "rollback: %s", onyx_amqp_error(a));
	printf("rolled back: %s\n",
	    onyx_amqp_txn(a)->outcome == ONYX_TXN_ROLLED_BACK ? "yes" : "no");
	onyx_amqp_close(a);
	onyx_buf_free(&b);
	return 0;
}
