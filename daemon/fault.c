/*
 * fault.c - the crash points behind fault.h.
 */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fault_name[64];

void fault_init(void)
{
	const char *name = getenv(FAULT_ENV);
	snprintf(fault_name, sizeof(fault_name), "%s", name ? name : "");
}

void fault_point(const char *name)
{
	if (fault_name[0] == '\0' || strcmp(fault_name, name) != 0)
		return;
	/* One write, unbuffered: the test reads it from the log. */
	char line[128];
	int n = snprintf(line, sizeof(line), "hotlined: fault point %s: exiting now\n", name);
	if (n > 0 && write(STDERR_FILENO, line, (size_t)n) < 0)
		_exit(FAULT_EXIT_STATUS);
	_exit(FAULT_EXIT_STATUS);
}
