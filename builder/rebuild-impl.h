/* rebuild-impl.h - the storm's journal reader, exposed for the fuzzer. */
#ifndef PLINTH_REBUILD_IMPL_H
#define PLINTH_REBUILD_IMPL_H

#include "internal.h"

/*
 * The last run the journal text (JSON lines) names, and whether that run
 * got to its "end" or "interrupted" event.  Lines that are not events (a
 * last line cut short by a kill, junk) are skipped.
 */
void pl__journal_scan(const char *text, size_t len, unsigned *last, bool *finished);

#endif
