package sim

import (
	"bytes"
	"fmt"
	"os"
	"runtime/pprof"
)

// profileName is PREFIX.nN.dD.vS.SUFFIX.
func profileName(prefix string, run *Run, suffix string) string {
	return fmt.Sprintf("%s.n%d.d%d.v%d.%s", prefix, run.N, run.D, run.Schedule, suffix)
}

// writeHeapProfile writes the heap profile (live objects as of the last collection).
func writeHeapProfile(name string) error {
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
		return err
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}
