/*  pst_clock - the two clocks every service reads, in one place (pst_log
    formats its own stamp from the wall clock's seconds and fraction).

    Wall time (CLOCK_REALTIME) stamps what leaves the process or outlives it:
    expiry times, rows, log lines, a message's deadline. Monotonic time
    (CLOCK_MONOTONIC) measures what stays inside it: waits, lingers, budgets,
    so that a wall clock stepped back by NTP never stretches a wait.
    Condition variables here are set to the monotonic clock
    (pthread_condattr_setclock), and pst_clock_mono_after gives them their
    absolute deadline.
*/
#ifndef PST_CLOCK_H_INCLUDED
#define PST_CLOCK_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

//  Milliseconds since the Unix epoch (wall clock)
int64_t
    pst_clock_wall_ms (void);

//  Milliseconds and microseconds on the monotonic clock (an arbitrary origin)
int64_t
    pst_clock_mono_ms (void);
int64_t
    pst_clock_mono_us (void);

//  The monotonic clock ms milliseconds from now (now itself when ms <= 0),
//  as pthread_cond_timedwait takes it
struct timespec
    pst_clock_mono_after (int64_t ms);

//  True when the monotonic clock has reached at
bool
    pst_clock_mono_reached (const struct timespec *at);

#endif
