package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chorus-im/chorus/protocol"
)

// TestDiagnoseStall: a group message that one installation never gets (its gate stays
// closed) fails the wait with a stallError naming it, and the diagnosis says where the
// envelope is: taken off the bus, not handed to the client, no replay marker, not stored,
// the group active with a current epoch; the sender's own view is described too.
func TestDiagnoseStall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := newCluster(slog.New(slog.DiscardHandler), 2)
	defer cl.close()
	var insts []*installation
	for i := range 3 {
		in, _, err := cl.add(ctx, i, i, 0, "", true)
		if err != nil {
			t.Fatal(err)
		}
		cl.start(in)
		insts = append(insts, in)
	}
	var accounts []string
	for _, in := range insts[1:] {
		code, err := in.c.ContactCode(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := insts[0].c.AddContact(ctx, code); err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, in.account)
	}
	if err := cl.waitStarted(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	gid, err := insts[0].c.CreateGroup(ctx, "g", "", accounts...)
	if err != nil {
		t.Fatal(err)
	}
	cl.gid = gid
	if err := cl.tr.wait(ctx, key{kind: kindJoined, id: gid}, []int{1, 2}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := cl.quiesce(ctx, true); err != nil {
		t.Fatal(err)
	}

	cl.rx.Store(newRxLog())      // as measure does
	cl.setGates(false, []int{2}) // installation 2 never gets the message
	insts[0].tr.startCapture()
	id, err := insts[0].c.Send(ctx, gid, protocol.Text("hello"))
	pubs := insts[0].tr.stopCapture()
	if err != nil {
		t.Fatal(err)
	}
	if len(pubs) != 1 || pubs[0].payload == nil {
		t.Fatalf("captured %d publishes, want 1 with its payload", len(pubs))
	}
	k := key{kind: kindMessage, id: id}
	err = cl.tr.wait(ctx, k, []int{1, 2}, 2*time.Second)
	var se *stallError
	if !errors.As(err, &se) || len(se.missing) != 1 || se.missing[0] != 2 {
		t.Fatalf("wait: %v, want a stall of installation 2 alone", err)
	}
	var b strings.Builder
	cl.diagnose(ctx, &b, se, 0, pubs)
	out := b.String()
	t.Log(out)
	_, rest, ok := strings.Cut(out, "m2.d0 (installation 2):")
	if !ok {
		t.Fatal("installation 2 not described")
	}
	for _, want := range []string{
		"waiting: m2.d0\n",
		"sender m0.d0:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diagnosis lacks %q", want)
		}
	}
	for _, want := range []string{
		"gate open false",
		"pending in the gate 1,",
		"B): handed to the client false, engine hash ",
		", replay marker false, pending false",
		"taken off the bus: 1 of 1",
		fmt.Sprintf("message %x stored: false", id[:6]),
		"status active",
		"current ",
	} {
		if !strings.Contains(rest, want) {
			t.Errorf("installation 2's diagnosis lacks %q", want)
		}
	}
	if strings.Contains(rest, "current none") || strings.Contains(rest, "schedule: frontier []") {
		t.Error("installation 2 has no epoch")
	}

	// Once the gate opens the message arrives: the diagnosis read nothing it should not.
	cl.setGates(true, []int{2})
	if err := cl.tr.wait(ctx, k, []int{2}, time.Minute); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	cl.describe(ctx, &b, 2, k, pubs)
	for _, want := range []string{"handed to the client true", "replay marker true", "stored: true"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("after delivery, diagnosis lacks %q:\n%s", want, b.String())
		}
	}
}

// TestStallNeedsIdleProcess: a wait with no installation observing its key gives up for
// want of progress only while the process is idle; while it works (clients working through
// a step together, none done yet) it waits, up to its timeout.
func TestStallNeedsIdleProcess(t *testing.T) {
	k := key{kind: kindCalibrate}
	for _, busy := range []bool{false, true} {
		tr := newTracker()
		tr.stall, tr.tick = 200*time.Millisecond, 20*time.Millisecond
		var clock int64
		tr.cpu = func() int64 {
			if busy {
				clock += int64(time.Second) // a whole core and more per tick
			}
			return clock
		}
		t0 := time.Now()
		err := tr.wait(context.Background(), k, []int{7}, 2*time.Second)
		took := time.Since(t0)
		var se *stallError
		if !errors.As(err, &se) || len(se.missing) != 1 || se.missing[0] != 7 {
			t.Fatalf("busy %v: %v, want a stall of installation 7", busy, err)
		}
		if idle := strings.Contains(err.Error(), "no progress"); idle == busy || (busy && took < 2*time.Second) || (!busy && took > time.Second) {
			t.Errorf("busy %v: gave up after %v: %v", busy, took, err)
		}
	}
}
