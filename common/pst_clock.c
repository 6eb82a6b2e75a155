//  pst_clock - see pst_clock.h

#include "pst_clock.h"

#define NS_PER_S  1000000000L

static struct timespec
s_read (clockid_t clock)
{
    struct timespec now;
    clock_gettime (clock, &now);
    return now;
}

int64_t
pst_clock_wall_ms (void)
{
    struct timespec now = s_read (CLOCK_REALTIME);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t
pst_clock_mono_ms (void)
{
    struct timespec now = s_read (CLOCK_MONOTONIC);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int64_t
pst_clock_mono_us (void)
{
    struct timespec now = s_read (CLOCK_MONOTONIC);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

struct timespec
pst_clock_mono_after (int64_t ms)
{
    struct timespec at = s_read (CLOCK_MONOTONIC);
    if (ms > 0) {
        at.tv_sec += (time_t) (ms / 1000);
        at.tv_nsec += (long) (ms % 1000) * 1000000L;
        if (at.tv_nsec >= NS_PER_S) {
            at.tv_sec++;
            at.tv_nsec -= NS_PER_S;
        }
    }
    return at;
}

bool
pst_clock_mono_reached (const struct timespec *at)
{
    struct timespec now = s_read (CLOCK_MONOTONIC);
    return now.tv_sec > at->tv_sec
        || (now.tv_sec == at->tv_sec && now.tv_nsec >= at->tv_nsec);
}
