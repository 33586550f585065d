/* husk's fuzz entry point (tests/fuzz/husk-fuzz.c): one function per parser of input that comes
   from outside, chosen by name.  libFuzzer drives it through LLVMFuzzerTestOneInput with the
   mode in $HUSK_FUZZ_MODE; tests/fuzz/replay.c replays saved inputs through it without
   libFuzzer (the regression tests).  docs/fuzzing.md says how to run and extend it.  */
#ifndef HUSK_FUZZ_H
#define HUSK_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Select MODE ("reference", "tar", ...) and prepare what it needs (a scratch directory
   under $TMPDIR).  -1, with a message on stderr listing the modes, when there is no such
   mode or the preparation failed.  */
int husk_fuzz_select (const char *mode);

/* Run the selected mode on one input.  Returns 0; a broken invariant (a file written outside
   the unpacker's root, a round trip that does not hold) aborts, which libFuzzer reports as a
   crash and the replayer as a failed test.  */
int husk_fuzz_one (const uint8_t *data, size_t size);

/* The name of mode I (0, 1, ...), NULL past the last one.  */
const char *husk_fuzz_mode_name (size_t i);

#endif
