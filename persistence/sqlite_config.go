package persistence

// sqlite's process-wide state.

/*
// The amalgamation's functions, compiled into github.com/mattn/go-sqlite3 and linked
// into the same binary.
extern long long sqlite3_memory_used(void);
*/
import "C"

// sqliteMemoryUsed returns the bytes sqlite counts as allocated (0 while its memory
// statistics are off).
func sqliteMemoryUsed() int64 { return int64(C.sqlite3_memory_used()) }
