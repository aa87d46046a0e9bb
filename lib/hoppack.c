/* lib/hoppack.c: a hop's writes to egress: plain messages, or packed frames, one per bucket of groups. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>

#include "frame.h"
#include "hopint.h"
#include "status.h"
#include "wire.h"

/* a grouped packed edge hashes each group to one of this many buckets, each
 * bucket one AMQP group-id: the unit the broker pins to one consumer */
#define GROUP_BUCKETS 64

static bool
packed(const struct hop *h, int i)
{
	return h->t->egress_packed != NULL && h->t->egress_packed[i];
}

static int
nbuckets(const struct hop *h, int i)
{
	return onyx_hopgroup_grouped(h, i) ? GROUP_BUCKETS : 1;
}

/* The bucket of a group: FNV-1a of its text, so every peer agrees. */
unsigned
onyx_hoppack_bucket(const char *gid)
{
	uint32_t x = 2166136261u;

	for (; *gid != '\0'; gid++)
		x = (x ^ (unsigned char)*gid) * 16777619u;
	return x % GROUP_BUCKETS;
}

static void
bucket_id(char *buf, size_t n, unsigned b)
{
	snprintf(buf, n, "onyx-bucket-%u", b);
}

/* Send what h->genc holds to egress i, in the open transaction. */
static int
send_encoded(struct hop *h, int i)
{
	int st = onyx_amqp_send(h->out[i], h->genc.p, h->genc.len, true);

	return st == ONYX_OK ? ONYX_OK : onyx_hop_fail(h, st, "sending");
}

/*
 * The stamp of the next frame of bucket b on grouped egress i: this run's
 * sender id and the bucket's next sequence number. The numbers of frames
 * sent in a transaction that rolls back are given again (onyx_hoppack_drop),
 * so those committed have no gap.
 */
static int
next_stamp(struct hop *h, int i, unsigned b, struct onyx_frame_stamp *s)
{
	if (h->seq == NULL) {
		if ((h->seq = calloc(h->t->negress, sizeof(*h->seq))) == NULL ||
		    (h->seq_mark = calloc(
		         h->t->negress, sizeof(*h->seq_mark))) == NULL)
			return ONYX_ERR;
		arc4random_buf(h->sender_id, sizeof(h->sender_id));
	}
	if (h->seq[i] == NULL &&
	    ((h->seq[i] = calloc(GROUP_BUCKETS, sizeof(**h->seq))) == NULL ||
	        (h->seq_mark[i] = calloc(GROUP_BUCKETS, sizeof(**h->seq))) ==
	            NULL))
		return ONYX_ERR;
	memcpy(s->sender, h->sender_id, sizeof(s->sender));
	s->bucket = b;
	s->seq = ++h->seq[i][b];
	return ONYX_OK;
}

/* Send frame b of egress i in the open transaction, and empty it. */
static int
frame_send(struct hop *h, int i, unsigned b)
{
	struct onyx_frame *f = &h->frames[i][b];
	struct onyx_frame_stamp stamp;
	bool grouped = onyx_hopgroup_grouped(h, i);
	char gid[32];

	if (f->count == 0)
		return ONYX_OK;
	bucket_id(gid, sizeof(gid), b);
	h->genc.len = 0;
	if (grouped && next_stamp(h, i, b, &stamp) != ONYX_OK)
		return ONYX_ERR;
	if (onyx_frame_encode_stamped(&h->genc, f, grouped ? gid : NULL,
	        strlen(gid), grouped ? &stamp : NULL) != 0)
		return ONYX_ERR;
	onyx_frame_reset(f);
	return send_encoded(h, i);
}

/*
 * Before a commit: every frame not yet sent goes out, and the sequence
 * numbers stamped so far are those of the commit (every commit that
 * carries frames is preceded by this flush; a failed commit ends the run,
 * and with it the sender id).
 */
int
onyx_hoppack_flush(struct hop *h)
{
	int i, b, st;

	for (i = 0; h->frames != NULL && i < h->t->negress; i++)
		for (b = 0; h->frames[i] != NULL && b < nbuckets(h, i); b++)
			if ((st = frame_send(h, i, (unsigned)b)) != ONYX_OK)
				return st;
	for (i = 0; h->seq != NULL && i < h->t->negress; i++)
		if (h->seq[i] != NULL)
			memcpy(h->seq_mark[i], h->seq[i],
			    GROUP_BUCKETS * sizeof(**h->seq));
	return ONYX_OK;
}

/*
 * A rollback: the frames being filled belonged to the lost transaction, and
 * so did the sequence numbers stamped since the last flush.
 */
void
onyx_hoppack_drop(struct hop *h)
{
	int i, b;

	for (i = 0; h->frames != NULL && i < h->t->negress; i++)
		for (b = 0; h->frames[i] != NULL && b < nbuckets(h, i); b++)
			onyx_frame_reset(&h->frames[i][b]);
	for (i = 0; h->seq != NULL && i < h->t->negress; i++)
		if (h->seq[i] != NULL)
			memcpy(h->seq[i], h->seq_mark[i],
			    GROUP_BUCKETS * sizeof(**h->seq));
}

/*
 * Segment text into the frame of its bucket (gid: its group, or NULL) on
 * packed egress i. A segment too long for any frame goes alone as a plain
 * message of its bucket, after the frame before it: the order holds.
 */
static int
pack_one(struct hop *h, int i, const char *text, size_t len, const char *gid)
{
	unsigned b = gid != NULL ? onyx_hoppack_bucket(gid) : 0;
	enum onyx_frame_fit fit;
	struct onyx_frame *f;
	char bid[32];
	int st;

	if (h->frames[i] == NULL &&
	    (h->frames[i] = calloc(nbuckets(h, i), sizeof(**h->frames))) ==
	        NULL)
		return ONYX_ERR;
	f = &h->frames[i][b];
	fit = onyx_frame_fit(f, len, h->frame_max);
	if (fit != ONYX_FRAME_FITS && (st = frame_send(h, i, b)) != ONYX_OK)
		return st;
	if (fit != ONYX_FRAME_ALONE)
		return onyx_frame_add(f, text, len) == 0 ? ONYX_OK : ONYX_ERR;
	bucket_id(bid, sizeof(bid), b);
	h->genc.len = 0;
	if (onyx_wire_encode_segment_group(&h->genc, text, len,
	        gid != NULL ? bid : NULL, strlen(bid)) != 0)
		return ONYX_ERR;
	return send_encoded(h, i);
}

/* Send one result segment to every egress, with its group where set. */
int
onyx_hoppack_send_one(
    struct hop *h, const char *text, size_t len, char *const *gids)
{
	bool plain = false;
	int i, st;

	for (i = 0; i < h->t->negress; i++) {
		struct onyx_buf *b = &h->enc;
		if (packed(h, i)) {
			st = pack_one(
			    h, i, text, len, gids != NULL ? gids[i] : NULL);
			if (st != ONYX_OK)
				return st;
			continue;
		}
		if (gids != NULL && gids[i] != NULL) {
			b = &h->genc;
			b->len = 0;
			if (onyx_wire_encode_segment_group(
			        b, text, len, gids[i], strlen(gids[i])) != 0)
				return ONYX_ERR;
		} else if (!plain) {
			b->len = 0;
			if (onyx_wire_encode_segment(b, text, len) != 0)
				return ONYX_ERR;
			plain = true;
		}
		if ((st = onyx_amqp_send(h->out[i], b->p, b->len, true)) !=
		    ONYX_OK)
			return onyx_hop_fail(h, st, "sending");
	}
	return ONYX_OK;
}

/* One result segment (seg: parsed, or NULL): its groups, then to every egress. */
int
onyx_hoppack_out_segment(struct hop *h, const char *text, size_t len,
    json_t *seg, char *why, size_t whylen)
{
	char **gids = h->gids;
	int st;

	if ((st = onyx_hopgroup_of(h, text, len, seg, gids, why, whylen)) !=
	    ONYX_OK)
		return st;
	st = onyx_hoppack_send_one(h, text, len, gids);
	onyx_hopgroup_free(h, gids);
	return st;
}

void
onyx_hoppack_free(struct hop *h)
{
	int i;

	for (i = 0; h->frames != NULL && i < h->t->negress; i++) {
		for (int b = 0; h->frames[i] != NULL && b < nbuckets(h, i); b++)
			onyx_frame_free(&h->frames[i][b]);
		free(h->frames[i]);
	}
	free(h->frames);
	for (i = 0; h->seq != NULL && i < h->t->negress; i++) {
		free(h->seq[i]);
		free(h->seq_mark[i]);
	}
	free(h->seq);
	free(h->seq_mark);
}
