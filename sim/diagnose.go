package sim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"lukechampine.com/blake3"

	"github.com/chorus-im/chorus/epoch"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/storage"
)

// A stalled wait (some installation never observed what a step expects) is diagnosed
// where it fails: for each installation still waiting, what reached its transport
// subscription and its client, and what its client made of the step's publishes (replay
// marker, pending envelope, stored message, the group's key schedule), against the same
// view of the sender. The report goes to stderr and to a file (its path is in the error),
// with every goroutine's stack.

// stallError is a tracker wait that gave up: missing never observed k.
type stallError struct {
	msg     string
	k       key
	missing []int
}

func (e *stallError) Error() string { return e.msg }

// rxLog records, while an operation is measured, which envelopes each installation took
// off the bus and handed to its client (by transport hash), for a stall's diagnosis. It
// exists only during measure: nothing of it is left in the heap the run measures.
type rxLog struct {
	mu sync.Mutex
	m  map[rxKey]uint8 // rxGot | rxHanded
}

type rxKey struct {
	inst int32
	h    [32]byte
}

const (
	rxGot uint8 = 1 << iota
	rxHanded
)

func newRxLog() *rxLog { return &rxLog{m: map[rxKey]uint8{}} }

func (l *rxLog) mark(inst int, h [32]byte, f uint8) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[rxKey{int32(inst), h}] |= f
}

func (l *rxLog) unmark(inst int, h [32]byte, f uint8) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[rxKey{int32(inst), h}] &^= f
}

func (l *rxLog) flags(inst int, h [32]byte) uint8 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[rxKey{int32(inst), h}]
}

// published is one publish captured during a measured call.
type published struct {
	topic   string
	hash    [32]byte // transport hash
	size    int
	payload []byte // nil above maxCapturedPayload
}

const (
	maxCaptured        = 4096     // a creation at 1000 x 3 is about 3000 publishes
	maxCapturedPayload = 64 << 10 // larger payloads are not kept (no replay-marker lookup)
	maxCapturedBytes   = 16 << 20 // the payloads kept in all
)

func (t *gatedNode) startCapture() {
	t.capMu.Lock()
	defer t.capMu.Unlock()
	t.capturing, t.captured, t.capturedBytes = true, nil, 0
}

func (t *gatedNode) stopCapture() []published {
	t.capMu.Lock()
	defer t.capMu.Unlock()
	out := t.captured
	t.capturing, t.captured, t.capturedBytes = false, nil, 0
	return out
}

// engineHash is the client's replay-marker hash of an envelope (protocol: envelopeHash).
func engineHash(topic string, payload []byte) [32]byte {
	var out [32]byte
	prefix := []byte{byte(len(topic) >> 8), byte(len(topic))}
	if 2+len(topic)+len(payload) > 4096 {
		h := blake3.New(32, nil)
		h.Write(prefix)
		h.Write([]byte(topic))
		h.Write(payload)
		h.Sum(out[:0])
		return out
	}
	h := sha256.New()
	h.Write(prefix)
	h.Write([]byte(topic))
	h.Write(payload)
	h.Sum(out[:0])
	return out
}

// maxDiagnosed bounds the installations described one by one, maxListed the publishes
// listed.
const (
	maxDiagnosed = 8
	maxListed    = 16
)

// stalled returns err with a diagnosis of a stalled wait appended (any other error as is):
// pubs are the publishes of the operation waited for, sender its installation (-1: none).
func (cl *cluster) stalled(ctx context.Context, err error, sender int, pubs []published) error {
	var se *stallError
	if !errors.As(err, &se) {
		return err
	}
	var b strings.Builder
	cl.diagnose(ctx, &b, se, sender, pubs)
	f, ferr := os.CreateTemp("", "chorus-sim-stall-*.txt")
	if ferr == nil {
		_, _ = io.WriteString(f, b.String())
		_, _ = io.WriteString(f, "\ngoroutines:\n")
		_ = pprof.Lookup("goroutine").WriteTo(f, 2)
		_ = f.Close()
	}
	fmt.Fprint(os.Stderr, b.String())
	if ferr != nil {
		return fmt.Errorf("%w (diagnosis not saved: %v)", err, ferr)
	}
	return fmt.Errorf("%w (diagnosis and stacks in %s)", err, f.Name())
}

// diagnose writes what the installations of se.missing (and the sender) know of se.k.
func (cl *cluster) diagnose(ctx context.Context, w io.Writer, se *stallError, sender int, pubs []published) {
	st := cl.net.Stats()
	fmt.Fprintf(w, "stall: %s: %d installations never observed it (at %s)\n", se.k, len(se.missing), time.Now().Format(time.RFC3339Nano))
	fmt.Fprintf(w, "  network: publishes %d, received %d, duplicates %d, deliveries %d, overflows %d, lost %d\n",
		st.Publishes, st.Received, st.Duplicates, st.Deliveries, st.Overflows, st.Lost)
	for j, p := range pubs {
		if j == maxListed {
			fmt.Fprintf(w, "  (%d more publishes)\n", len(pubs)-j)
			break
		}
		fmt.Fprintf(w, "  publish %d: topic %s, %d B, transport hash %x\n", j, shortTopic(p.topic), p.size, p.hash[:6])
	}
	names := make([]string, 0, len(se.missing))
	for _, i := range se.missing {
		if i >= 0 && i < len(cl.insts) {
			names = append(names, cl.insts[i].name)
		}
	}
	fmt.Fprintf(w, "  waiting: %s\n", strings.Join(names, " "))
	if sender >= 0 {
		fmt.Fprintf(w, "  sender %s:\n", cl.insts[sender].name)
		cl.describe(ctx, w, sender, se.k, pubs)
	}
	for j, i := range se.missing {
		if j == maxDiagnosed {
			fmt.Fprintf(w, "  (%d more not described)\n", len(se.missing)-j)
			break
		}
		if i < 0 || i >= len(cl.insts) {
			continue
		}
		fmt.Fprintf(w, "  %s (installation %d):\n", cl.insts[i].name, i)
		cl.describe(ctx, w, i, se.k, pubs)
	}
}

// describe writes installation i's view: its transport, then its client's store.
func (cl *cluster) describe(ctx context.Context, w io.Writer, i int, k key, pubs []published) {
	in := cl.insts[i]
	if in.tr == nil || in.store == nil {
		fmt.Fprintf(w, "    not running\n")
		return
	}
	t := in.tr
	t.gate.mu.Lock()
	open := t.gate.open
	t.gate.mu.Unlock()
	running := "running"
	select {
	case <-in.done:
		running = fmt.Sprintf("Run returned (%v)", in.runErr)
	default:
	}
	fmt.Fprintf(w, "    transport: %s, gate open %v, subscriptions %d, envelopes received %d, pending in the gate %d, lost to cancelled subscriptions %d, events dropped %d\n",
		running, open, t.subs.Load(), t.rxEnvs.Load(), t.pending.Load(), t.cancelled.Load(), in.dropped.Load())
	gid := cl.gid
	if k.kind != kindMessage && k.kind != kindSubscribed && k.kind != kindLinked {
		gid = protocol.GroupID(k.id)
	}
	// Read only: the transaction is rolled back (errDiagnosed).
	err := in.store.WithTx(ctx, func(tx storage.StoreTx) error {
		// The call's publishes that reached this installation's subscription: handed to
		// its client, and what the client made of them.
		rx := cl.rx.Load()
		if rx == nil && len(pubs) > 0 {
			fmt.Fprintf(w, "    receipts not recorded (outside a measured operation)\n")
			rx = newRxLog()
		}
		got, listed := 0, 0
		for j, p := range pubs {
			f := rx.flags(i, p.hash)
			if f&rxGot == 0 {
				continue
			}
			got++
			if listed == maxListed {
				continue
			}
			listed++
			fmt.Fprintf(w, "    publish %d (%s, %d B): handed to the client %v", j, shortTopic(p.topic), p.size, f&rxHanded != 0)
			if p.payload != nil {
				h := engineHash(p.topic, p.payload)
				seen, err := tx.Seen(h)
				if err != nil {
					return err
				}
				u, err := tx.PendingUsage(h, nil)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, ", engine hash %x, replay marker %v, pending %v", h[:6], seen, u.Exists)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "    publishes of the call taken off the bus: %d of %d\n", got, len(pubs))
		pend, err := tx.Pending(4096)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "    pending envelopes: %d", len(pend))
		for j, p := range pend {
			if j == 8 {
				fmt.Fprintf(w, " …")
				break
			}
			fmt.Fprintf(w, " [%x %s %d B claim %q since %s]", p.Hash[:4], shortTopic(p.Topic), len(p.Payload), claimString(p.Claim), time.Since(p.ReceivedAt).Round(time.Millisecond))
		}
		fmt.Fprintln(w)
		if k.kind == kindMessage {
			_, err := tx.Message(protocol.MessageID(k.id))
			fmt.Fprintf(w, "    message %x stored: %v\n", k.id[:6], err == nil)
		}
		if gid == (protocol.GroupID{}) {
			return errDiagnosed
		}
		g, err := tx.Group(gid)
		if errors.Is(err, storage.ErrNotFound) {
			fmt.Fprintf(w, "    group %x: not known\n", gid[:6])
			return errDiagnosed
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "    group %x: status %s, event log %d B (none: still joining), clock %d, schedule %d B, meta %d B, joined %s ago\n", gid[:6], statusName(g.Status), len(g.Events), g.Clock, len(g.Schedule), len(g.EpochMeta), time.Since(g.JoinedAt).Round(time.Millisecond))
		if len(g.Schedule) > 0 {
			s := epoch.NewSchedule(epoch.ID(g.ID))
			if err := s.UnmarshalBinary(g.Schedule); err != nil {
				fmt.Fprintf(w, "    schedule: %v\n", err)
			} else {
				cur := "none"
				if e, err := s.Current(); err == nil {
					cur = fmt.Sprintf("%x", e.ID[:6])
				} else {
					cur = err.Error()
				}
				fmt.Fprintf(w, "    schedule: frontier %s, missing seeds %s, known %d, unseen %d, live %d, current %s\n",
					ids(s.Frontier()), ids(s.Missing()), s.Known(), s.Unseen(), len(s.Live()), cur)
			}
		}
		return errDiagnosed
	})
	if err != nil && !errors.Is(err, errDiagnosed) {
		fmt.Fprintf(w, "    store: %v\n", err)
	}
}

func statusName(s storage.GroupStatus) string {
	switch s {
	case storage.GroupActive:
		return "active"
	case storage.GroupRemoved:
		return "removed"
	case storage.GroupLeft:
		return "left"
	}
	return fmt.Sprint(int(s))
}

var errDiagnosed = errors.New("sim: diagnosis (read only)")

func ids(l []epoch.ID) string {
	if len(l) == 0 {
		return "[]"
	}
	parts := make([]string, len(l))
	for i, id := range l {
		parts[i] = fmt.Sprintf("%x", id[:6])
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func shortTopic(t string) string {
	if len(t) > 24 {
		return t[:12] + "…" + t[len(t)-8:]
	}
	return t
}

// claimString prints a pending envelope's claim: its kind ("inst", "key", a topic) and
// the start of its bytes.
func claimString(c []byte) string {
	for _, p := range []string{"inst", "key"} {
		if strings.HasPrefix(string(c), p) {
			return fmt.Sprintf("%s %x", p, c[len(p):min(len(c), len(p)+6)])
		}
	}
	return shortTopic(string(c))
}
