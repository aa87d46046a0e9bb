/* lib/clock.h: the monotonic clock every timeout and deadline in lib/ is measured with. */
#ifndef ONYX_CLOCK_H
#define ONYX_CLOCK_H

/* onyx_mono_ms: milliseconds of CLOCK_MONOTONIC (not wall time). */
long long onyx_mono_ms(void);

/* onyx_mono_us: microseconds of CLOCK_MONOTONIC, for short durations. */
long long onyx_mono_us(void);

#endif
