/*
 * fuzz_ticket.c - libFuzzer target for frame_ticket_scan / frame_put_ticket.
 *
 * Owns: the promise hotlined relies on when it passes a stored Ticket to a
 * department without unpacking it: whatever the scan accepts, protobuf-c
 * unpacks, with the same ticket_no; and the frame built around it unpacks to
 * a Frame holding that Ticket. Never: does I/O. Input: the Ticket bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *no;
	size_t no_len;
	if (!frame_ticket_scan(data, size, &no, &no_len))
		return 0;
	Hotline__V1__Ticket *t = hotline__v1__ticket__unpack(NULL, size, size ? data : no);
	if (!t)
		abort(); /* accepted, yet a peer could not unpack it */
	if (no && (memchr(no, 0, no_len) == NULL) &&
	    (strlen(t->ticket_no) != no_len || memcmp(t->ticket_no, no, no_len) != 0))
		abort();
	if (no && memchr(no, 0, no_len) == NULL) {
		char ticket_no[64];
		if (no_len < sizeof(ticket_no)) {
			memcpy(ticket_no, no, no_len);
			ticket_no[no_len] = '\0';
			if (!frame_ticket_check(data, size, ticket_no))
				abort();
		}
	}
	size_t frame_size = frame_ticket_size(size);
	uint8_t *out = malloc(frame_size ? frame_size : 1);
	if (frame_size && out) {
		if (frame_put_ticket(out, data, size) != frame_size)
			abort();
		Hotline__V1__Frame *f =
			frame_unpack(out + FRAME_HEADER_LEN, frame_size - FRAME_HEADER_LEN);
		if (!f || f->msg_case != HOTLINE__V1__FRAME__MSG_TICKET ||
		    strcmp(f->ticket->ticket_no, t->ticket_no) != 0)
			abort();
		frame_message_free(f);
	}
	free(out);
	hotline__v1__ticket__free_unpacked(t, NULL);
	return 0;
}
