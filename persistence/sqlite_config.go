package persistence

// sqlite's process-wide configuration, set before the first connection opens.

/*
// The amalgamation's functions, compiled into github.com/mattn/go-sqlite3 and linked
// into the same binary.
extern int sqlite3_config(int, ...);
extern long long sqlite3_memory_used(void);

// SQLITE_CONFIG_MEMSTATUS (sqlite3.h): 9.
static int chorus_sqlite_memstatus_off(void) { return sqlite3_config(9, 0); }
*/
import "C"

// init turns sqlite's memory statistics off (SQLITE_CONFIG_MEMSTATUS, 0), before any
// connection opens (sqlite initialises itself at the first; a later sqlite3_config is
// refused, harmlessly). With them on, every allocation and free inside sqlite takes a
// process-wide mutex and asks the C allocator for the block's size
// (sqlite3MemSize: malloc_usable_size) to keep counters nobody reads (issue 16: both
// show in every receive window of the scale simulation). mattn/go-sqlite3 offers no
// option for it, and a #cgo define here cannot reach its amalgamation.
func init() {
	C.chorus_sqlite_memstatus_off()
}

// sqliteMemoryUsed returns the bytes sqlite counts as allocated (0 while its memory
// statistics are off).
func sqliteMemoryUsed() int64 { return int64(C.sqlite3_memory_used()) }
