/*
 * timefmt.c - times and durations for the reports (see timefmt.h).
 */
#include "timefmt.h"

#include <stdio.h>

#include "validate.h"

void format_time_cell(time_t t, char *buf, size_t size)
{
    if (t == 0)
        snprintf(buf, size, "-");
    else
        format_utc(t, buf, size);
}

void format_duration(long s, char *buf, size_t size)
{
    const char *sign = s < 0 ? "-" : "";
    if (s < 0)
        s = -s;
    if (s >= 86400)
        snprintf(buf, size, "%s%ldd%02ldh", sign, s / 86400, s % 86400 / 3600);
    else
        snprintf(buf, size, "%s%ldh%02ldm", sign, s / 3600, s % 3600 / 60);
}
