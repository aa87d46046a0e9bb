/* lib/frame.h: packed frames, many segments in one AMQP message (the format of internal edges). */
#ifndef ONYX_FRAME_H
#define ONYX_FRAME_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/*
 * The format, version 1 (documented in onyx(7), "Packed frames"):
 * - a durable AMQP message whose content-type is ONYX_FRAME_CONTENT_TYPE,
 *   with the AMQP group-id of its bucket on a grouped edge;
 * - its body is one data section: the four bytes 'O' 'N' 'X' VERSION, the
 *   record count (4 bytes, big-endian), then each record: its length (4
 *   bytes, big-endian) and the segment's JSON text, in the order sent.
 * A frame's payload (the data section) stays within a byte limit, so that
 * the broker keeps it a plain (not a large) message.
 */
#define ONYX_FRAME_VERSION 1
/*
 * Version 2, a stamped frame (a grouped edge): as version 1, with after
 * the count the stamp: the sender's id (8 bytes: random, one per hop run),
 * the bucket (4 bytes, big-endian) and the frame's sequence number (8
 * bytes, big-endian) among that sender's frames of the same bucket to the
 * same queue, from 1 with no gap among the frames committed. The receiver of a task with keyed state
 * processes each bucket's frames in that order (lib/order.h).
 */
#define ONYX_FRAME_VERSION_STAMPED 2
#define ONYX_FRAME_STAMP 20
#define ONYX_FRAME_CONTENT_TYPE "application/x-onyx-frame"
#define ONYX_FRAME_HEAD 8   /* magic, version, count */
#define ONYX_FRAME_RECORD 4 /* the length before each segment */
/* the default payload limit: under Artemis's 100 KiB large-message bound */
#define ONYX_FRAME_MAX_DEFAULT (64 * 1024)
/* a receiver's credit once it reads frames (a packed edge, a user's queue
 * of frames): enough to fill batches, at most 4 MiB held ahead */
#define ONYX_FRAME_CREDIT 64

/* A frame being packed. Zeroed, it is empty. */
struct onyx_frame {
	struct onyx_buf b; /* the payload: head and records */
	unsigned count;
};

/* onyx_frame_reset: empty f, keeping its memory. */
void onyx_frame_reset(struct onyx_frame *f);
void onyx_frame_free(struct onyx_frame *f);

/* onyx_frame_size: the payload's bytes were a segment of len added. */
size_t onyx_frame_size_with(const struct onyx_frame *f, size_t len);

/*
 * Where a segment of len bytes goes, packing into f within max payload
 * bytes: into f (ONYX_FRAME_FITS); into a new frame once f is sent
 * (ONYX_FRAME_FULL); or alone as a plain segment message, after f is sent
 * if it holds any (ONYX_FRAME_ALONE: it is longer than any frame). Either
 * way the order of segments holds.
 */
enum onyx_frame_fit {
	ONYX_FRAME_FITS,
	ONYX_FRAME_FULL,
	ONYX_FRAME_ALONE,
};
enum onyx_frame_fit
onyx_frame_fit(const struct onyx_frame *f, size_t len, size_t max);

/* onyx_frame_add: append a segment's text. 0, or -1 when out of memory. */
int onyx_frame_add(struct onyx_frame *f, const char *json, size_t len);

/*
 * onyx_frame_encode: append f as one AMQP message to out, with the group-id
 * group[0..glen) (at most ONYX_WIRE_GROUP_MAX bytes) when group is not
 * NULL. 0, or -1 when out of memory, the group is too long or f is empty.
 */
int onyx_frame_encode(struct onyx_buf *out, const struct onyx_frame *f,
    const char *group, size_t glen);

/* A frame's stamp (version 2). */
struct onyx_frame_stamp {
	unsigned char sender[8];
	unsigned bucket;
	unsigned long long seq;
};

/*
 * onyx_frame_encode_stamped: as onyx_frame_encode, and with stamp (not
 * NULL) a frame of version 2 carrying it.
 */
int onyx_frame_encode_stamped(struct onyx_buf *out, const struct onyx_frame *f,
    const char *group, size_t glen, const struct onyx_frame_stamp *stamp);

/* Reading a frame's payload, record by record. */
struct onyx_frame_reader {
	const char *p;
	size_t left;
	unsigned count, seen;
	/* version 2: the stamp; seq 0 for a frame of version 1 */
	unsigned char sender[8];
	unsigned bucket;
	unsigned long long seq;
};

/*
 * onyx_frame_open: start reading payload[0..len) (the body of a message
 * whose content-type is ONYX_FRAME_CONTENT_TYPE). ONYX_EDATA with err
 * saying why when it is not a frame this version reads, or is over max
 * bytes (0: no limit).
 */
int onyx_frame_open(struct onyx_frame_reader *r, const char *payload,
    size_t len, size_t max, char *err, size_t errlen);

/*
 * onyx_frame_next: the next segment's text in *seg, *len (inside the
 * payload). Returns 1, 0 after the last, or ONYX_EDATA when the frame is
 * cut short or holds more than its count (err says where); the records
 * before it were whole. After ONYX_EDATA, r->p and r->left are the bytes
 * not read.
 */
int onyx_frame_next(struct onyx_frame_reader *r, const char **seg, size_t *len,
    char *err, size_t errlen);

#endif
