/*
 * timefmt.h - times and durations as the reports show them.
 */
#ifndef OCSPSTAPLE_TIMEFMT_H
#define OCSPSTAPLE_TIMEFMT_H

#include <stddef.h>
#include <time.h>

/* format_duration - "3d04h" or "5h07m" (negative: "-..."), for people. */
void format_duration(long seconds, char *buf, size_t size);

/* format_time_cell - format_utc, with "-" for an absent (0) time. */
void format_time_cell(time_t t, char *buf, size_t size);

#endif
