package protocol_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// perfControl drives `perf record -D -1 --control fifo:CTL,ACK` so that perf samples only
// a benchmark's measured section: CHORUS_PERF_CTL=CTL,ACK names the two fifos. Without the
// variable it does nothing.
type perfControl struct {
	ctl *os.File
	ack *bufio.Reader
}

func openPerfControl(tb testing.TB) *perfControl {
	v := os.Getenv("CHORUS_PERF_CTL")
	if v == "" {
		return &perfControl{}
	}
	ctlPath, ackPath, ok := strings.Cut(v, ",")
	if !ok {
		tb.Fatalf("CHORUS_PERF_CTL=%q: want CTL,ACK", v)
	}
	ctl, err := os.OpenFile(ctlPath, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	ack, err := os.Open(ackPath)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ctl.Close(); ack.Close() })
	return &perfControl{ctl: ctl, ack: bufio.NewReader(ack)}
}

// set enables or disables perf's sampling and waits for perf's acknowledgement.
func (p *perfControl) set(tb testing.TB, on bool) {
	if p.ctl == nil {
		return
	}
	cmd := "disable\n"
	if on {
		cmd = "enable\n"
	}
	if _, err := p.ctl.WriteString(cmd); err != nil {
		tb.Fatal(err)
	}
	if _, err := p.ack.ReadString('\n'); err != nil {
		tb.Fatal(err)
	}
}
